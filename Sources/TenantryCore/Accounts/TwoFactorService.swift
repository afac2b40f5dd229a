import Foundation
import GRDB

/// Operators' second factor: TOTP as authenticator apps make it, with ten single-use
/// recovery codes. Login asks for it after the password (`AccountService.login`).
public struct TwoFactorService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }

    static let recoveryCodeCount = 10
    static let challengeSeconds: Int64 = 5 * 60

    public struct Enrolment: Sendable {
        /// Base32, for typing into an app by hand.
        public let secret: String
        public let uri: String
    }

    public struct Status: Sendable {
        public let enabled: Bool
        public let pending: Bool
        public let confirmedAt: Instant?
        public let recoveryCodesLeft: Int
    }

    public func status(_ principal: Principal) throws -> Status {
        try Self.requireOperator(principal.user)
        return try database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT confirmed_at FROM totp_factor WHERE user_id = ?", arguments: [principal.user.id])
            let left = try Int.fetchOne(db, sql: "SELECT count(*) FROM totp_recovery_code WHERE user_id = ? AND used_at IS NULL", arguments: [principal.user.id]) ?? 0
            let confirmed: Instant? = row?["confirmed_at"]
            return Status(enabled: confirmed != nil, pending: row != nil && confirmed == nil, confirmedAt: confirmed, recoveryCodesLeft: confirmed == nil ? 0 : left)
        }
    }

    /// Starts enrolment (again, while unconfirmed): a new secret, confirmed by a first code.
    public func enroll(_ principal: Principal) async throws -> Enrolment {
        try await enroll(user: principal.user)
    }

    /// Confirms enrolment with a first code; answers the recovery codes, shown once.
    public func confirm(_ principal: Principal, code: String) async throws -> [String] {
        try await confirm(user: principal.user, code: code, by: AuditActor(principal))
    }

    /// Turns the caller's second factor off; it takes a current code or a recovery code.
    public func disable(_ principal: Principal, code: String) async throws {
        let user = principal.user
        try Self.requireOperator(user)
        let now = context.clock.now()
        try context.loginThrottle.check(email: Self.throttleKey(user), client: "")
        let accepted = try await database.write { db -> Bool in
            guard try Self.confirmedSecret(db, userId: user.id) != nil else { throw DomainError.invalidArgument("two-factor is not on") }
            guard try Self.accept(db, userId: user.id, code: code, at: now) else { return false }
            try Self.remove(db, userId: user.id)
            try AuditLog.record(db, actor: AuditActor(principal), action: "user.2fa_disable", targetType: "user", targetId: user.id, before: AuditLog.nothing, after: AuditLog.nothing, at: now)
            return true
        }
        guard accepted else {
            context.loginThrottle.recordFailure(email: Self.throttleKey(user), client: "")
            throw DomainError.unauthenticated("invalid two-factor code")
        }
    }

    /// An operator removes another operator's second factor (a lost phone): they sign in with
    /// their password alone, and enroll again.
    public func reset(userId: String, by actor: AuditActor) async throws {
        let now = context.clock.now()
        try await database.write { db in
            guard let user = try User.fetchOne(db, key: userId) else { throw DomainError.notFound("no user \(userId)") }
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM totp_factor WHERE user_id = ?", arguments: [userId]) != nil else {
                throw DomainError.invalidArgument("\(user.email) has no second factor")
            }
            try Self.remove(db, userId: userId)
            try AuditLog.record(db, actor: actor, action: "user.2fa_reset", targetType: "user", targetId: userId, before: AuditLog.nothing, after: AuditLog.nothing, at: now)
        }
    }

    // MARK: - The command line (`tenantryd admin 2fa-…`), by email

    public func enroll(operatorEmail: String) async throws -> Enrolment { try await enroll(user: try operatorUser(operatorEmail)) }

    public func confirm(operatorEmail: String, code: String) async throws -> [String] {
        try await confirm(user: try operatorUser(operatorEmail), code: code, by: AuditActor(id: nil, email: "cli"))
    }

    public func reset(operatorEmail: String) async throws { try await reset(userId: try operatorUser(operatorEmail).id, by: AuditActor(id: nil, email: "cli")) }

    private func operatorUser(_ email: String) throws -> User {
        let normalized = try EmailAddress.normalize(email)
        guard let user = try database.read({ try User.withEmail(normalized, $0) }), user.isOperator else { throw DomainError.notFound("no operator \(normalized)") }
        return user
    }

    // MARK: - Sign-in

    /// The session that the challenge from the password step and a valid code open.
    func completeLogin(challenge: String, code: String, client: String) async throws -> String {
        let now = context.clock.now()
        let settings = context.settings
        guard
            let userId = try database.read({ db in
                try String.fetchOne(
                    db, sql: "SELECT user_id FROM login_challenge WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?", arguments: [Secrets.sha256(challenge), now])
            }), let user = try database.read({ try User.fetchOne($0, key: userId) })
        else { throw DomainError.unauthenticated("the sign-in has expired: start again with your password") }
        let key = Self.throttleKey(user)
        try context.loginThrottle.check(email: key, client: client)
        let token = try await database.write { db -> String? in
            guard try Self.accept(db, userId: userId, code: code, at: now) else { return nil }
            try db.execute(sql: "UPDATE login_challenge SET used_at = ? WHERE token_hash = ?", arguments: [now, Secrets.sha256(challenge)])
            try db.execute(sql: "DELETE FROM login_challenge WHERE expires_at <= ?", arguments: [now])
            return try AccountService.issueSession(db, userId: userId, tenantId: nil, client: client, now: now, settings: settings).token
        }
        guard let token else {
            context.loginThrottle.recordFailure(email: key, client: client)
            throw DomainError.unauthenticated("invalid two-factor code")
        }
        context.loginThrottle.recordSuccess(email: key, client: client)
        return token
    }

    /// After the password: a challenge when the user has a confirmed second factor, nil when
    /// they may sign in with the password alone. An operator without one, when the daemon
    /// requires it, is refused.
    static func challenge(_ db: Database, user: User, at now: Instant, settings: Settings) throws -> String? {
        guard user.isOperator else { return nil }
        guard try confirmedSecret(db, userId: user.id) != nil else {
            if settings.operatorTwoFactorRequired {
                throw DomainError.permissionDenied(
                    "operators must sign in with a second factor here: enroll with tenantryd admin 2fa-enroll --email \(user.email), then 2fa-confirm")
            }
            return nil
        }
        let token = Secrets.token("tnc")
        try db.execute(
            sql: "INSERT INTO login_challenge (token_hash, user_id, expires_at) VALUES (?, ?, ?)", arguments: [Secrets.sha256(token), user.id, now.adding(seconds: challengeSeconds)])
        return token
    }

    // MARK: - Shared steps

    private func enroll(user: User) async throws -> Enrolment {
        try Self.requireOperator(user)
        let now = context.clock.now()
        let secret = Secrets.randomBytes(20)
        try await database.write { db in
            if try Self.confirmedSecret(db, userId: user.id) != nil {
                throw DomainError.alreadyExists("two-factor is on already: turn it off (or have an operator reset it) to enroll another device")
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO totp_factor (user_id, secret, confirmed_at, last_step, created_at) VALUES (?, ?, NULL, 0, ?)",
                arguments: [user.id, Data(secret), now])
        }
        return Enrolment(secret: Secrets.base32(secret).uppercased(), uri: TOTP.uri(secret: secret, account: user.email))
    }

    private func confirm(user: User, code: String, by actor: AuditActor) async throws -> [String] {
        try Self.requireOperator(user)
        let now = context.clock.now()
        let codes = (0..<Self.recoveryCodeCount).map { _ in Self.recoveryCode() }
        try context.loginThrottle.check(email: Self.throttleKey(user), client: "")
        let confirmed = try await database.write { db -> Bool in
            guard let row = try Row.fetchOne(db, sql: "SELECT secret, confirmed_at, last_step FROM totp_factor WHERE user_id = ?", arguments: [user.id]) else {
                throw DomainError.invalidArgument("there is no enrolment to confirm: start one first")
            }
            guard (row["confirmed_at"] as Instant?) == nil else { throw DomainError.alreadyExists("two-factor is on already") }
            guard let step = TOTP.matchingStep(code, secret: Array(row["secret"] as Data), at: now, after: row["last_step"]) else { return false }
            try db.execute(sql: "UPDATE totp_factor SET confirmed_at = ?, last_step = ? WHERE user_id = ?", arguments: [now, step, user.id])
            try db.execute(sql: "DELETE FROM totp_recovery_code WHERE user_id = ?", arguments: [user.id])
            for code in codes {
                try db.execute(sql: "INSERT INTO totp_recovery_code (user_id, code_hash) VALUES (?, ?)", arguments: [user.id, Self.recoveryHash(code)])
            }
            try AuditLog.record(db, actor: actor, action: "user.2fa_enable", targetType: "user", targetId: user.id, before: AuditLog.nothing, after: AuditLog.nothing, at: now)
            return true
        }
        guard confirmed else {
            context.loginThrottle.recordFailure(email: Self.throttleKey(user), client: "")
            throw DomainError.invalidArgument("the code does not match: check the time on your device and type the code it shows now")
        }
        return codes
    }

    /// A current TOTP code (never one used before) or an unused recovery code, used up.
    private static func accept(_ db: Database, userId: String, code rawCode: String, at now: Instant) throws -> Bool {
        let code = rawCode.replacingOccurrences(of: " ", with: "")
        guard let row = try Row.fetchOne(db, sql: "SELECT secret, last_step FROM totp_factor WHERE user_id = ? AND confirmed_at IS NOT NULL", arguments: [userId]) else {
            return false
        }
        if let step = TOTP.matchingStep(code, secret: Array(row["secret"] as Data), at: now, after: row["last_step"]) {
            try db.execute(sql: "UPDATE totp_factor SET last_step = ? WHERE user_id = ?", arguments: [step, userId])
            return true
        }
        try db.execute(
            sql: "UPDATE totp_recovery_code SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            arguments: [now, userId, recoveryHash(code.lowercased())])
        return db.changesCount == 1
    }

    private static func confirmedSecret(_ db: Database, userId: String) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT secret FROM totp_factor WHERE user_id = ? AND confirmed_at IS NOT NULL", arguments: [userId])
    }

    private static func remove(_ db: Database, userId: String) throws {
        try db.execute(sql: "DELETE FROM totp_factor WHERE user_id = ?", arguments: [userId])
        try db.execute(sql: "DELETE FROM totp_recovery_code WHERE user_id = ?", arguments: [userId])
    }

    private static func requireOperator(_ user: User) throws {
        guard user.isOperator else { throw DomainError.permissionDenied("two-factor sign-in is for operators") }
    }

    /// Code failures count apart from password failures, so neither masks the other.
    private static func throttleKey(_ user: User) -> String { "2fa:" + user.id }

    /// `xxxxx-xxxxx`: 50 random bits in base32.
    private static func recoveryCode() -> String {
        let text = Secrets.base32(Secrets.randomBytes(7))
        return String(text.prefix(5)) + "-" + String(text.dropFirst(5).prefix(5))
    }

    private static func recoveryHash(_ code: String) -> Data { Secrets.sha256("tenantry-recovery:" + code) }
}
