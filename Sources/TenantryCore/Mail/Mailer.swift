import Foundation
import GRDB
import Logging
import Synchronization

/// Queues emails in the outbox table. A one-time secret in an email (a code, an invite
/// link) is kept in memory only, until it expires: the stored body has a placeholder.
public final class Mailer: Sendable {
    public static let secretPlaceholder = "{{secret}}"

    private struct HeldSecret {
        let value: String
        let expiresAt: Instant
    }
    private let secrets = Mutex([String: HeldSecret]())
    private let clock: any TimeSource
    private let logger: Logger

    public init(clock: any TimeSource, logger: Logger) {
        self.clock = clock
        self.logger = logger
    }

    /// Adds an email to the outbox, within the caller's write.
    @discardableResult
    public func enqueue(_ db: Database, to recipient: String, _ email: Email, secret: String? = nil, secretExpiresAt: Instant? = nil) throws -> String {
        let id = Secrets.identifier("eml")
        let now = clock.now()
        try OutboxEmail(id: id, recipient: recipient, subject: email.subject, body: email.body, status: .queued, attempts: 0, createdAt: now, sentAt: nil, lastError: nil).insert(db)
        if let secret, let secretExpiresAt {
            secrets.withLock { $0[id] = HeldSecret(value: secret, expiresAt: secretExpiresAt) }
        }
        return id
    }

    /// The body as sent: the placeholder filled while the secret is valid.
    public func render(_ email: OutboxEmail) -> String {
        guard email.body.contains(Self.secretPlaceholder) else { return email.body }
        let now = clock.now()
        let secret = secrets.withLock { $0[email.id] }.flatMap { $0.expiresAt > now ? $0.value : nil }
        return email.body.replacingOccurrences(of: Self.secretPlaceholder, with: secret ?? "[expired]")
    }

    /// Forgets secrets past their expiry; returns how many were dropped.
    func forgetExpiredSecrets() -> Int {
        let now = clock.now()
        return secrets.withLock { held in
            let before = held.count
            held = held.filter { $0.value.expiresAt > now }
            return before - held.count
        }
    }

    /// Delivers queued emails with the `log` transport: each is logged (never its body,
    /// which may hold a secret) and marked sent; the outbox is the inbox.
    func deliverQueued(_ db: Database) throws -> Int {
        let queued = try OutboxEmail.filter(OutboxEmail.Columns.status == OutboxEmail.Status.queued.rawValue).order(OutboxEmail.Columns.createdAt).fetchAll(db)
        let now = clock.now()
        for var email in queued {
            email.status = .sent
            email.attempts += 1
            email.sentAt = now
            try email.update(db)
            logger.info("email sent (log transport)", metadata: ["id": "\(email.id)", "to": "\(email.recipient)", "subject": "\(email.subject)"])
        }
        return queued.count
    }
}
