import Foundation
import GRDB

/// Registration, login and sessions, password reset, and the user's own profile.
public struct AccountService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) {
        self.context = context
    }

    private var database: AppDatabase { context.database }
    private var settings: Settings { context.settings }

    // MARK: - Registration

    public struct Registration: Sendable {
        public let token: String
        public let redirectURL: String
    }

    /// Emails a 6-digit code bound to the returned token. An address that already has an
    /// account gets a "you already have an account" email instead; the answer is the same.
    public func register(email rawEmail: String, client: String) async throws -> Registration {
        let email = try EmailAddress.normalize(rawEmail)
        try context.emailThrottle.admit(email: email, client: client)
        let token = Secrets.token("tnr")
        let code = Secrets.numericCode()
        let now = context.clock.now()
        let expiresAt = now.adding(seconds: settings.codeLifetimeSeconds)
        let mailer = context.mailer
        let loginURL = context.url("/portal")
        let minutes = settings.codeLifetimeSeconds / 60
        try await database.write { db in
            let existing = try User.withEmail(email, db)
            try Verification(
                id: Secrets.identifier("vrf"), purpose: .register, tokenHash: Secrets.sha256(token), email: email, userId: nil,
                codeHash: Secrets.codeHash(code: code, token: token), attempts: 0, createdAt: now, expiresAt: expiresAt, consumedAt: nil
            ).insert(db)
            if existing == nil {
                try mailer.enqueue(db, to: email, Emails.registrationCode(minutes: minutes), secret: code, secretExpiresAt: expiresAt)
            } else {
                try mailer.enqueue(db, to: email, Emails.alreadyRegistered(loginURL: loginURL))
            }
        }
        return Registration(token: token, redirectURL: context.url("/register/verify"))
    }

    public struct VerifiedRegistration: Sendable {
        public let token: String
        public let isInitialized: Bool
    }

    /// Checks the emailed code; creates the user, their personal tenant (owned by them) and
    /// its starting subscription, and logs them in.
    public func verifyRegistration(email rawEmail: String, code: String, token: String, fromLink: String, country: String, client: String) async throws -> VerifiedRegistration {
        let email = try Self.codeInputs(email: rawEmail, code: code, token: token)
        let now = context.clock.now()
        let settings = self.settings
        let outcome = try await database.write { db in
            try Self.withValidCode(db, token: token, purpose: .register, email: email, code: code, now: now, settings: settings) { verification -> IssuedSession in
                guard try User.withEmail(email, db) == nil else {
                    throw DomainError.alreadyExists("an account with this email already exists; log in instead")
                }
                var user = User.new(email: email, name: EmailAddress.defaultName(email), status: .uninitialized, passwordHash: nil, now: now)
                user.fromLink = String(fromLink.prefix(2048))
                user.country = String(country.prefix(64))
                try user.insert(db)
                let tenant = try TenantService.createTenant(db, name: "\(user.name)'s workspace", owner: user.id, now: now, settings: settings)
                return try Self.issueSession(db, userId: user.id, tenantId: tenant.id, client: client, now: now, settings: settings)
            }
        }
        let issued = try outcome.get(wrongCode: "the verification code is incorrect")
        return VerifiedRegistration(token: issued.token, isInitialized: false)
    }

    // MARK: - Login and sessions

    /// What a correct password opens: a session, or (an operator with a second factor) a
    /// challenge that `completeLogin` turns into one with a code.
    public enum LoginOutcome: Sendable, Equatable {
        case session(token: String)
        case secondFactor(challenge: String)
    }

    public func login(email rawEmail: String, password: String, client: String) async throws -> LoginOutcome {
        let email = try EmailAddress.normalize(rawEmail)
        guard !password.isEmpty else { throw DomainError.invalidArgument("password is required") }
        guard password.count <= PasswordHasher.maximumPasswordLength else {
            throw DomainError.unauthenticated("invalid email or password")
        }
        let user = try database.read { try User.withEmail(email, $0) }
        guard try await context.checkPassword(password, against: user?.passwordHash, email: email, client: client), let user else {
            throw DomainError.unauthenticated("invalid email or password")
        }
        guard user.status != .disabled else { throw DomainError.permissionDenied("this account is disabled") }
        context.loginThrottle.recordSuccess(email: email, client: client)
        let rehash = context.hasher.needsRehash(user.passwordHash ?? "") ? try await context.hasher.hash(password) : nil
        let now = context.clock.now()
        let settings = self.settings
        return try await database.write { db in
            if let rehash {
                try db.execute(sql: "UPDATE user SET password_hash = ? WHERE id = ?", arguments: [rehash, user.id])
            }
            if let challenge = try TwoFactorService.challenge(db, user: user, at: now, settings: settings) { return .secondFactor(challenge: challenge) }
            return .session(token: try Self.issueSession(db, userId: user.id, tenantId: nil, client: client, now: now, settings: settings).token)
        }
    }

    /// The second step of an operator's sign-in: the challenge and a TOTP or recovery code.
    public func completeLogin(challenge: String, code: String, client: String) async throws -> String {
        try await TwoFactorService(context: context).completeLogin(challenge: challenge, code: code, client: client)
    }

    /// The session behind a bearer token, if it is open; the token's user must not be disabled.
    /// This runs on every authenticated request: two cached statements, no record decoding.
    public func authenticate(token: String) throws -> Principal {
        guard token.hasPrefix(Session.tokenPrefix + "_") else {
            throw DomainError.unauthenticated("invalid or expired token")
        }
        let now = context.clock.now()
        let idle = settings.sessionIdleSeconds * 1000
        let hash = Secrets.sha256(token)
        let found = try context.credentials.entry(\.sessions, for: hash) {
            try database.read { db -> CredentialCache.SessionRecord? in
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(
                            sql: """
                                SELECT session.id AS session_id, session.current_tenant_id, session.last_seen_at, session.expires_at, session.revoked_at, user.*
                                FROM session JOIN user ON user.id = session.user_id WHERE session.token_hash = ?
                                """),
                        arguments: [hash]
                    )
                else { return nil }
                let user = User(databaseRow: row)
                return CredentialCache.SessionRecord(
                    sessionId: row["session_id"], lastSeen: row["last_seen_at"], expiresAt: row["expires_at"], revoked: row["revoked_at"] as Int64? != nil, user: user,
                    membership: try Self.currentMembership(db, userId: user.id, preferred: row["current_tenant_id"]))
            }
        }
        guard let found, !found.value.revoked, now.milliseconds < min(found.value.expiresAt, found.value.lastSeen + idle) else {
            throw DomainError.unauthenticated("invalid or expired token")
        }
        let session = found.value
        guard session.user.status != .disabled else { throw DomainError.permissionDenied("this account is disabled") }
        let isStale = now.milliseconds - max(session.lastSeen, found.markedAt) > 60_000
        // The caller marks it (`touch`); until that commits, the cache remembers it was asked.
        if isStale { context.credentials.markUsed(\.sessions, for: hash, at: now) }
        return Principal(sessionId: session.sessionId, user: session.user, tenantId: session.membership?.tenantId, role: session.membership?.role, isStale: isStale)
    }

    /// Marks a session as in use (it keeps its idle clock running). Callers need not wait.
    public func touch(_ principal: Principal) async throws {
        let now = context.clock.now()
        try await database.write { db in
            try db.execute(sql: "UPDATE session SET last_seen_at = max(last_seen_at, ?) WHERE id = ?", arguments: [now, principal.sessionId])
        }
    }

    public func logout(_ principal: Principal) async throws {
        let now = context.clock.now()
        try await database.write { db in
            try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, principal.sessionId])
        }
    }

    /// Exchanges a session token that is open, or ended less than the refresh window ago,
    /// for a new one; the old token stops working.
    public func refresh(token: String, client: String) async throws -> String {
        guard !token.isEmpty else { throw DomainError.invalidArgument("token is required") }
        let now = context.clock.now()
        let settings = self.settings
        return try await database.write { db in
            guard let session = try Session.filter(Session.Columns.tokenHash == Secrets.sha256(token)).fetchOne(db),
                session.revokedAt == nil,
                now < session.endsAt(idleSeconds: settings.sessionIdleSeconds).adding(seconds: settings.sessionRefreshWindowSeconds),
                let user = try User.fetchOne(db, key: session.userId), user.status != .disabled
            else { throw DomainError.unauthenticated("this token cannot be refreshed; log in again") }
            try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE id = ?", arguments: [now, session.id])
            return try Self.issueSession(db, userId: session.userId, tenantId: session.currentTenantId, client: client, now: now, settings: settings).token
        }
    }

    // MARK: - Forgotten password

    /// Emails a reset code when the address has an account; the answer is the same either way.
    public func forgotPassword(email rawEmail: String, client: String) async throws -> String {
        let email = try EmailAddress.normalize(rawEmail)
        try context.emailThrottle.admit(email: email, client: client)
        let token = Secrets.token("tnp")
        let code = Secrets.numericCode()
        let now = context.clock.now()
        let expiresAt = now.adding(seconds: settings.codeLifetimeSeconds)
        let mailer = context.mailer
        let minutes = settings.codeLifetimeSeconds / 60
        try await database.write { db in
            let user = try User.withEmail(email, db)
            try Verification(
                id: Secrets.identifier("vrf"), purpose: .resetCode, tokenHash: Secrets.sha256(token), email: email, userId: user?.id,
                codeHash: Secrets.codeHash(code: code, token: token), attempts: 0, createdAt: now, expiresAt: expiresAt, consumedAt: nil
            ).insert(db)
            if let user, user.status != .disabled {
                try mailer.enqueue(db, to: email, Emails.passwordResetCode(minutes: minutes), secret: code, secretExpiresAt: expiresAt)
            }
        }
        return token
    }

    public struct ResetCodeCheck: Sendable {
        public let isValid: Bool
        public let email: String
        public let newToken: String
        public let redirectURL: String
    }

    /// Checks a reset code. A wrong code answers `isValid: false` (and counts as an attempt);
    /// a right one is exchanged for a short-lived reset token.
    public func verifyForgotPassword(email rawEmail: String, code: String, token: String) async throws -> ResetCodeCheck {
        let email = try Self.codeInputs(email: rawEmail, code: code, token: token)
        let now = context.clock.now()
        let settings = self.settings
        let outcome = try await database.write { db in
            try Self.withValidCode(db, token: token, purpose: .resetCode, email: email, code: code, now: now, settings: settings) { verification -> String? in
                // A code for an address with no account is never right (nobody received it).
                guard let userId = verification.userId else { return nil }
                let resetToken = Secrets.token("tnp")
                try Verification(
                    id: Secrets.identifier("vrf"), purpose: .reset, tokenHash: Secrets.sha256(resetToken), email: email, userId: userId,
                    codeHash: nil, attempts: 0, createdAt: now, expiresAt: now.adding(seconds: settings.resetTokenLifetimeSeconds), consumedAt: nil
                ).insert(db)
                return resetToken
            }
        }
        switch outcome {
        case .valid(let resetToken?):
            return ResetCodeCheck(isValid: true, email: email, newToken: resetToken, redirectURL: context.url("/password/reset"))
        case .wrongCode, .valid(nil):
            return ResetCodeCheck(isValid: false, email: email, newToken: "", redirectURL: "")
        case .unusable(let reason):
            throw DomainError.invalidArgument(reason)
        }
    }

    /// Sets a new password with a reset token, and ends every session of the user.
    public func resetPassword(token: String, newPassword: String, confirmation: String) async throws {
        guard !token.isEmpty else { throw DomainError.invalidArgument("token is required") }
        try PasswordHasher.validate(newPassword, field: "new_password")
        guard newPassword == confirmation else { throw DomainError.invalidArgument("password_confirm does not match new_password") }
        let now = context.clock.now()
        let unusable = DomainError.invalidArgument("the reset token is invalid or has expired; request a new code")
        guard let pending = try database.read({ try Verification.withToken(token, purpose: .reset, $0) }),
            pending.consumedAt == nil, pending.expiresAt > now
        else { throw unusable }
        let hash = try await context.hasher.hash(newPassword)
        let mailer = context.mailer
        let email = try await database.write { db -> String in
            try db.execute(sql: "UPDATE verification SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL", arguments: [now, pending.id])
            guard db.changesCount == 1, let userId = pending.userId, var user = try User.fetchOne(db, key: userId) else { throw unusable }
            user.passwordHash = hash
            if user.status == .uninitialized { user.status = .active }
            user.updatedAt = now
            try user.update(db)
            try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", arguments: [now, user.id])
            try mailer.enqueue(db, to: user.email, Emails.passwordChanged())
            return user.email
        }
        context.loginThrottle.forget(email: email)
    }

    // MARK: - The user's own account

    public struct Profile: Sendable {
        public let user: User
        public let subscription: SubscriptionInfo
        /// The avatar's absolute URL (from --public-url), empty without one.
        public let thumbnailURL: String
    }

    public func profile(_ principal: Principal) throws -> Profile {
        try database.read { db in
            Profile(
                user: principal.user, subscription: try Subscriptions.info(db, tenantId: principal.tenantId),
                thumbnailURL: principal.user.avatarId.map(avatarURL) ?? "")
        }
    }

    /// Sets the first password of a user created by registration; answers a fresh session.
    public func initialize(_ principal: Principal, password: String, timezone: String, client: String) async throws -> String {
        guard principal.user.status == .uninitialized else {
            throw DomainError.invalidArgument("the password is already set; change it with POST /v1/user/password")
        }
        try PasswordHasher.validate(password)
        let zone = timezone.trimmingCharacters(in: .whitespaces)
        guard zone.isEmpty || TimeZone(identifier: zone) != nil else {
            throw DomainError.invalidArgument("timezone must be an IANA time zone such as Europe/Paris")
        }
        let hash = try await context.hasher.hash(password)
        let now = context.clock.now()
        let settings = self.settings
        return try await database.write { db in
            guard var user = try User.fetchOne(db, key: principal.user.id), user.status == .uninitialized else {
                throw DomainError.invalidArgument("the password is already set; change it with POST /v1/user/password")
            }
            user.passwordHash = hash
            user.status = .active
            user.timezone = zone
            user.updatedAt = now
            try user.update(db)
            try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE id = ?", arguments: [now, principal.sessionId])
            return try Self.issueSession(db, userId: user.id, tenantId: principal.tenantId, client: client, now: now, settings: settings).token
        }
    }

    public func updateName(_ principal: Principal, name rawName: String) async throws {
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw DomainError.invalidArgument("name is required") }
        guard name.count <= 100 else { throw DomainError.invalidArgument("name must be at most 100 characters") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DomainError.invalidArgument("name must not contain control characters")
        }
        let now = context.clock.now()
        try await database.write { db in
            try db.execute(sql: "UPDATE user SET name = ?, updated_at = ? WHERE id = ?", arguments: [name, now, principal.user.id])
        }
    }

    /// Changes the password after checking the old one; every other session of the user ends.
    public func updatePassword(_ principal: Principal, old: String, new: String, client: String) async throws {
        guard !old.isEmpty else { throw DomainError.invalidArgument("old_password is required") }
        try PasswordHasher.validate(new, field: "new_password")
        let email = principal.user.email
        guard try await context.checkPassword(old, against: principal.user.passwordHash, email: email, client: client) else {
            throw DomainError.invalidArgument("old_password is incorrect")
        }
        let hash = try await context.hasher.hash(new)
        let now = context.clock.now()
        let mailer = context.mailer
        try await database.write { db in
            try db.execute(sql: "UPDATE user SET password_hash = ?, status = 'ACTIVE', updated_at = ? WHERE id = ?", arguments: [hash, now, principal.user.id])
            try db.execute(
                sql: "UPDATE session SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at IS NULL",
                arguments: [now, principal.user.id, principal.sessionId]
            )
            try mailer.enqueue(db, to: email, Emails.passwordChanged())
        }
    }

    /// Stores a PNG, JPEG or WebP picture (by its content, whatever it claims) of at most
    /// 1 MiB as the user's avatar; answers its URL path.
    public func updateAvatar(_ principal: Principal, file: [UInt8]) async throws -> String {
        guard !file.isEmpty else { throw DomainError.invalidArgument("file is empty") }
        guard file.count <= Avatar.maximumBytes else {
            throw DomainError.invalidArgument("file is larger than \(Avatar.maximumBytes) bytes")
        }
        guard let contentType = Avatar.sniffContentType(file) else {
            throw DomainError.invalidArgument("file must be a PNG, JPEG or WebP image")
        }
        let now = context.clock.now()
        let avatar = Avatar(id: Secrets.identifier("avt"), userId: principal.user.id, contentType: contentType, data: Data(file), createdAt: now)
        try await database.write { db in
            try Avatar.filter(Avatar.Columns.userId == principal.user.id).deleteAll(db)
            try avatar.insert(db)
            try db.execute(sql: "UPDATE user SET avatar_id = ?, updated_at = ? WHERE id = ?", arguments: [avatar.id, now, principal.user.id])
        }
        return avatarURL(avatar.id)
    }

    /// Where an avatar is served: absolute, as clients of the seed expect a URL.
    func avatarURL(_ id: String) -> String { context.url("/v1/avatars/\(id)") }

    public func avatar(id: String) throws -> Avatar? {
        try database.read { try Avatar.fetchOne($0, key: id) }
    }

    /// Deletes the user, their sessions and memberships, and the tenants they alone belong
    /// to; refused while they are the last owner of a tenant that has other members.
    public func deleteUser(_ principal: Principal) async throws {
        let userId = principal.user.id
        try await database.write { db in
            for membership in try Membership.filter(Membership.Columns.userId == userId).fetchAll(db) {
                let members = try Membership.filter(Membership.Columns.tenantId == membership.tenantId).fetchAll(db)
                if members.count == 1 {
                    _ = try Tenant.deleteOne(db, key: membership.tenantId)
                } else if membership.role == .owner, members.filter({ $0.role == .owner }).count == 1 {
                    let name = try Tenant.fetchOne(db, key: membership.tenantId)?.name ?? membership.tenantId
                    throw DomainError.invalidArgument("you are the last owner of \(name), which has other members: make one of them an owner first")
                }
            }
            _ = try User.deleteOne(db, key: userId)
        }
    }

    // MARK: - Operators

    public struct CreatedOperator: Sendable {
        public let user: User
        public let promoted: Bool
    }

    /// Creates an operator account, or makes an existing user an operator.
    public func createOperator(email rawEmail: String, password: String) async throws -> CreatedOperator {
        let email = try EmailAddress.normalize(rawEmail)
        try PasswordHasher.validate(password)
        let hash = try await context.hasher.hash(password)
        let now = context.clock.now()
        return try await database.write { db in
            if var user = try User.withEmail(email, db) {
                guard !user.isOperator else { throw DomainError.alreadyExists("\(email) is already an operator") }
                user.isOperator = true
                user.passwordHash = hash
                if user.status == .uninitialized { user.status = .active }
                user.updatedAt = now
                try user.update(db)
                return CreatedOperator(user: user, promoted: true)
            }
            var user = User.new(email: email, name: EmailAddress.defaultName(email), status: .active, passwordHash: hash, now: now)
            user.isOperator = true
            try user.insert(db)
            return CreatedOperator(user: user, promoted: false)
        }
    }

    /// Sets an operator's password (the command line's way back in) and ends their sessions.
    public func setOperatorPassword(email rawEmail: String, password: String) async throws {
        let email = try EmailAddress.normalize(rawEmail)
        try PasswordHasher.validate(password)
        let hash = try await context.hasher.hash(password)
        let now = context.clock.now()
        try await database.write { db in
            guard var user = try User.withEmail(email, db), user.isOperator else {
                throw DomainError.notFound("no operator with email \(email)")
            }
            user.passwordHash = hash
            if user.status == .uninitialized { user.status = .active }
            user.updatedAt = now
            try user.update(db)
            try db.execute(sql: "UPDATE session SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", arguments: [now, user.id])
        }
        context.loginThrottle.forget(email: email)
    }

    public func hasOperator() throws -> Bool {
        try database.read { try User.filter(User.Columns.isOperator == true).fetchCount($0) > 0 }
    }

    // MARK: - Shared steps

    static func issueSession(_ db: Database, userId: String, tenantId: String?, client: String, now: Instant, settings: Settings) throws -> IssuedSession {
        let token = Secrets.token(Session.tokenPrefix)
        let session = Session(
            id: Secrets.identifier("ses"), tokenHash: Secrets.sha256(token), userId: userId,
            currentTenantId: try currentMembership(db, userId: userId, preferred: tenantId)?.tenantId,
            clientAddress: String(client.prefix(64)), createdAt: now, lastSeenAt: now,
            expiresAt: now.adding(seconds: settings.sessionLifetimeSeconds), revokedAt: nil
        )
        try session.insert(db)
        return IssuedSession(token: token, session: session)
    }

    /// The membership a session works in: the one it chose if it still holds, else the oldest.
    static func currentMembership(_ db: Database, userId: String, preferred: String?) throws -> Membership? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT tenant_id, role, joined_at FROM membership WHERE user_id = ?
                        ORDER BY tenant_id IS ? DESC, joined_at, tenant_id LIMIT 1
                        """),
                arguments: [userId, preferred]
            )
        else { return nil }
        return Membership(tenantId: row["tenant_id"], userId: userId, role: Role(rawValue: row["role"]) ?? .member, joinedAt: row["joined_at"])
    }

    /// The outcome of checking an emailed code. A wrong code must still count its attempt,
    /// so it is an answer of the write rather than an error that would roll it back.
    enum CodeCheck<Value: Sendable>: Sendable {
        case valid(Value)
        case wrongCode
        case unusable(String)

        func get(wrongCode message: String) throws -> Value {
            switch self {
            case .valid(let value): return value
            case .wrongCode: throw DomainError.invalidArgument(message)
            case .unusable(let reason): throw DomainError.invalidArgument(reason)
            }
        }
    }

    /// The normalized email of a code check, once its three inputs are there.
    static func codeInputs(email: String, code: String, token: String) throws -> String {
        let normalized = try EmailAddress.normalize(email)
        guard !code.isEmpty else { throw DomainError.invalidArgument("code is required") }
        guard !token.isEmpty else { throw DomainError.invalidArgument("token is required") }
        return normalized
    }

    /// Checks a code inside a write; a right one is consumed and `body` runs with it.
    static func withValidCode<Value: Sendable>(
        _ db: Database, token: String, purpose: Verification.Purpose, email: String, code: String, now: Instant, settings: Settings,
        _ body: (Verification) throws -> Value
    ) throws -> CodeCheck<Value> {
        switch try checkCode(db, token: token, purpose: purpose, email: email, code: code, now: now, settings: settings) {
        case .valid(var verification):
            verification.consumedAt = now
            try verification.update(db)
            return .valid(try body(verification))
        case .wrongCode: return .wrongCode
        case .unusable(let reason): return .unusable(reason)
        }
    }

    static func checkCode(_ db: Database, token: String, purpose: Verification.Purpose, email: String, code: String, now: Instant, settings: Settings) throws -> CodeCheck<Verification> {
        guard var verification = try Verification.withToken(token, purpose: purpose, db), verification.email == email,
            verification.consumedAt == nil, verification.expiresAt > now
        else { return .unusable("the code is invalid or has expired; request a new one") }
        guard verification.attempts < settings.codeAttempts else {
            return .unusable("too many wrong codes; request a new one")
        }
        guard let expected = verification.codeHash, Secrets.constantTimeEqual(Secrets.codeHash(code: code, token: token), expected) else {
            verification.attempts += 1
            try verification.update(db)
            return .wrongCode
        }
        return .valid(verification)
    }
}
