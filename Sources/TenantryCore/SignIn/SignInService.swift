import Crypto
import Foundation
import GRDB

/// Sign-in through OpenID Connect providers: the authorization code flow with PKCE (S256),
/// a single-use `state` bound to the browser by a cookie, the ID token verified, then the
/// identity linked to an account (a verified email only), or a new account made as
/// registration makes one. The browser comes back with a single-use ticket that the page
/// exchanges for a session.
public struct SignInService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }
    private var providers: IdentityProviders { context.identityProviders }

    static let stateSeconds: Int64 = 10 * 60
    static let ticketSeconds: Int64 = 2 * 60
    public static let cookieName = "tenantry_oauth"
    public static let defaultLanding = "/portal"

    public struct Provider: Sendable {
        public let name: String
        public let displayName: String
        public let loginURL: String
    }

    /// The configured providers, for the sign-in pages.
    public func list() -> [Provider] {
        providers.ordered.map { Provider(name: $0.name, displayName: $0.displayName, loginURL: context.url("/v1/account/oauth/\($0.name)/login")) }
    }

    public func callbackURL(provider name: String) throws -> String {
        context.url("/v1/account/oauth/\(try providers.provider(name).name)/callback")
    }

    public func landingURL(provider name: String) throws -> String {
        _ = try providers.provider(name)
        return context.url(Self.defaultLanding)
    }

    /// Where the browser goes to sign in, and the cookie value that binds the attempt to it.
    public struct Start: Sendable {
        public let url: String
        public let binding: String
    }

    /// Starts a sign-in (or, with `linking`, a link to that signed-in user) at `provider`.
    public func start(provider name: String, redirectTo: String, linking principal: Principal? = nil) async throws -> Start {
        let provider = try providers.provider(name)
        let landing = try Self.landing(redirectTo)
        let endpoints = try await providers.endpoints(provider)
        let state = Secrets.token("st")
        let nonce = Secrets.token("nc")
        let verifier = Base64URL.encode(Secrets.randomBytes(32))
        let binding = Secrets.token("ob")
        let now = context.clock.now()
        try await database.write { db in
            try db.execute(sql: "DELETE FROM oauth_state WHERE expires_at <= ?", arguments: [now])
            try db.execute(
                sql: """
                    INSERT INTO oauth_state (state_hash, provider, nonce, code_verifier, binding_hash, redirect_to, link_user_id, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    Secrets.sha256(state), provider.name, nonce, verifier, Secrets.sha256(binding), landing, principal?.user.id, now.adding(seconds: Self.stateSeconds),
                ])
        }
        let challenge = Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
        let query = FormEncoding.encode([
            ("response_type", "code"), ("client_id", provider.clientId), ("redirect_uri", try callbackURL(provider: provider.name)),
            ("scope", provider.scopes.joined(separator: " ")), ("state", state), ("nonce", nonce), ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ])
        return Start(url: endpoints.authorization + (endpoints.authorization.contains("?") ? "&" : "?") + query, binding: binding)
    }

    /// The provider's redirect back. Answers where the browser goes: the landing page with
    /// `#oauth_ticket=` on success, or `#oauth_error=` once the attempt is known; an unknown,
    /// used or expired state, or a browser without the attempt's cookie, is code 3.
    public func callback(provider name: String, code: String, state: String, error: String, binding: String?, client: String) async throws -> String {
        let provider = try providers.provider(name)
        let now = context.clock.now()
        guard !state.isEmpty else { throw DomainError.invalidArgument("state is missing: start the sign-in again") }
        struct Attempt: Sendable {
            let redirectTo: String
            let verifier: String
            let nonce: String
            let linkUserId: String?
        }
        let attempt = try await database.write { db -> Attempt in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM oauth_state WHERE state_hash = ? AND provider = ? AND used_at IS NULL AND expires_at > ?",
                    arguments: [Secrets.sha256(state), provider.name, now])
            else { throw DomainError.invalidArgument("this sign-in is unknown, used or expired: start it again") }
            guard let binding, Secrets.constantTimeEqual(Secrets.sha256(binding), row["binding_hash"]) else {
                throw DomainError.invalidArgument("this sign-in was started in another browser: start it again here")
            }
            try db.execute(sql: "UPDATE oauth_state SET used_at = ? WHERE state_hash = ?", arguments: [now, Secrets.sha256(state)])
            return Attempt(redirectTo: row["redirect_to"], verifier: row["code_verifier"], nonce: row["nonce"], linkUserId: row["link_user_id"])
        }
        let landing = context.url(attempt.redirectTo)
        do {
            guard error.isEmpty else { throw DomainError.invalidArgument("\(provider.displayName) did not sign you in: \(error)") }
            guard !code.isEmpty else { throw DomainError.invalidArgument("\(provider.displayName) sent no authorization code") }
            let token = try await verifiedToken(provider, code: code, verifier: attempt.verifier, nonce: attempt.nonce, now: now)
            let ticket = try await signIn(provider, token: token, linking: attempt.linkUserId, now: now)
            return landing + "#oauth_ticket=" + ticket
        } catch let refusal as IDToken.Refused {
            context.logger.notice("an OpenID sign-in was refused", metadata: ["provider": "\(provider.name)", "reason": "\(refusal)"])
            return landing + "#oauth_error=" + FormEncoding.component("the sign-in with \(provider.displayName) was refused: \(refusal)")
        } catch let domain as DomainError {
            return landing + "#oauth_error=" + FormEncoding.component(domain.message)
        }
    }

    /// What a ticket from the callback opens, once, within 2 minutes: a session, or for an
    /// operator with a second factor the same challenge a password login gets (a provider
    /// proves the email, not the operator's device).
    public func session(ticket: String, client: String) async throws -> (outcome: AccountService.LoginOutcome, isInitialized: Bool) {
        let now = context.clock.now()
        let settings = context.settings
        return try await database.write { db in
            guard
                let userId = try String.fetchOne(
                    db, sql: "SELECT user_id FROM oauth_ticket WHERE ticket_hash = ? AND used_at IS NULL AND expires_at > ?", arguments: [Secrets.sha256(ticket), now]),
                let user = try User.fetchOne(db, key: userId)
            else { throw DomainError.unauthenticated("this sign-in ticket is unknown, used or expired: sign in again") }
            guard user.status != .disabled else { throw DomainError.permissionDenied("this account is disabled") }
            try db.execute(sql: "UPDATE oauth_ticket SET used_at = ? WHERE ticket_hash = ?", arguments: [now, Secrets.sha256(ticket)])
            try db.execute(sql: "DELETE FROM oauth_ticket WHERE expires_at <= ?", arguments: [now])
            if let challenge = try TwoFactorService.challenge(db, user: user, at: now, settings: settings) {
                return (.secondFactor(challenge: challenge), user.status != .uninitialized)
            }
            let issued = try AccountService.issueSession(db, userId: userId, tenantId: nil, client: client, now: now, settings: settings)
            return (.session(token: issued.token), user.status != .uninitialized)
        }
    }

    public struct Identity: Sendable {
        public let provider: String
        public let subject: String
        public let email: String
        public let linkedAt: Instant
    }

    public func identities(_ principal: Principal) throws -> [Identity] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM user_identity WHERE user_id = ? ORDER BY provider", arguments: [principal.user.id]).map {
                Identity(provider: $0["provider"], subject: $0["subject"], email: $0["email"], linkedAt: $0["linked_at"])
            }
        }
    }

    /// Unlinks a provider; never the last way to sign in (no password and no other provider).
    public func unlink(_ principal: Principal, provider: String) async throws {
        let user = principal.user
        let now = context.clock.now()
        try await database.write { db in
            let linked = try String.fetchAll(db, sql: "SELECT provider FROM user_identity WHERE user_id = ?", arguments: [user.id])
            guard linked.contains(provider) else { throw DomainError.notFound("\(provider) is not linked to this account") }
            let hasPassword = try Bool.fetchOne(db, sql: "SELECT password_hash IS NOT NULL FROM user WHERE id = ?", arguments: [user.id]) ?? false
            guard hasPassword || linked.count > 1 else {
                throw DomainError.invalidArgument("\(provider) is the only way to sign in to this account: set a password or link another provider first")
            }
            try db.execute(sql: "DELETE FROM user_identity WHERE user_id = ? AND provider = ?", arguments: [user.id, provider])
            try AuditLog.record(
                db, actor: AuditActor(principal), action: "user.identity_unlink", targetType: "user", targetId: user.id, before: ["provider": provider], after: AuditLog.nothing,
                at: now)
        }
    }

    // MARK: - Steps

    private func verifiedToken(_ provider: IdentityProviderSettings, code: String, verifier: String, nonce: String, now: Instant) async throws -> IDToken {
        let answer = try await providers.exchange(code: code, verifier: verifier, redirectURI: try callbackURL(provider: provider.name), provider: provider)
        guard let compact = answer["id_token"]?.string else { throw IDToken.Refused("the provider sent no ID token") }
        let token = try IDToken(compact: compact)
        guard let key = try await providers.key(token.keyId, of: provider, at: now) else { throw IDToken.Refused("the ID token is signed by an unknown key (\(token.keyId))") }
        try token.verifySignature(with: key)
        try token.verifyClaims(issuer: provider.issuer, clientId: provider.clientId, nonce: nonce, now: now)
        return token
    }

    /// Links or finds the account, or makes one; answers the ticket for its session.
    private func signIn(_ provider: IdentityProviderSettings, token: IDToken, linking linkUserId: String?, now: Instant) async throws -> String {
        let settings = context.settings
        let email = token.emailVerified ? try? EmailAddress.normalize(token.email) : nil
        return try await database.write { db in
            let owner = try String.fetchOne(db, sql: "SELECT user_id FROM user_identity WHERE provider = ? AND subject = ?", arguments: [provider.name, token.subject])
            let userId: String
            if let linkUserId {
                guard owner == nil || owner == linkUserId else { throw DomainError.alreadyExists("this \(provider.displayName) account is linked to another Tenantry account") }
                guard
                    try String.fetchOne(db, sql: "SELECT subject FROM user_identity WHERE user_id = ? AND provider = ?", arguments: [linkUserId, provider.name]) ?? token.subject
                        == token.subject
                else { throw DomainError.alreadyExists("another \(provider.displayName) account is linked already: unlink it first") }
                userId = linkUserId
            } else if let owner {
                userId = owner
            } else if let email {
                if let existing = try User.withEmail(email, db) {
                    userId = existing.id
                } else {
                    // No password yet, as after registration: UNINITIALIZED (is_initialized false)
                    // lets the product offer one (POST /v1/user/initial); signing in needs none.
                    var user = User.new(
                        email: email, name: token.name.isEmpty ? EmailAddress.defaultName(email) : String(token.name.prefix(100)), status: .uninitialized,
                        passwordHash: nil, now: now)
                    try user.insert(db)
                    _ = try TenantService.createTenant(db, name: "\(user.name)'s workspace", owner: user.id, now: now, settings: settings)
                    userId = user.id
                }
            } else {
                throw DomainError.invalidArgument(
                    "\(provider.displayName) signed you in, but the provider has not verified \(token.email.isEmpty ? "an email address" : token.email): sign in another way")
            }
            guard let user = try User.fetchOne(db, key: userId), user.status != .disabled else { throw DomainError.permissionDenied("this account is disabled") }
            if owner == nil {
                try db.execute(
                    sql: "INSERT INTO user_identity (provider, subject, user_id, email, linked_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [provider.name, token.subject, userId, token.email, now])
                try AuditLog.record(
                    db, actor: AuditActor(id: user.id, email: user.email), action: "user.identity_link", targetType: "user", targetId: user.id, before: AuditLog.nothing,
                    after: ["provider": provider.name, "subject": token.subject], at: now)
            }
            let ticket = Secrets.token("tkt")
            try db.execute(
                sql: "INSERT INTO oauth_ticket (ticket_hash, user_id, expires_at) VALUES (?, ?, ?)", arguments: [Secrets.sha256(ticket), userId, now.adding(seconds: Self.ticketSeconds)])
            return ticket
        }
    }

    /// A landing path on this site: `/…`, never `//host` or a scheme, without a fragment.
    static func landing(_ redirectTo: String) throws -> String {
        let path = redirectTo.isEmpty ? defaultLanding : String(redirectTo.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"), path.count <= 512,
            path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f })
        else { throw DomainError.invalidArgument("redirect_to must be a path on this site, such as /portal") }
        return path
    }
}
