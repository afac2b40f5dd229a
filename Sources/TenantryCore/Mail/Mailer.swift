import Foundation
import GRDB
import Logging
import Synchronization

/// Queues emails in the outbox and delivers them. A one-time secret in an email (a code,
/// an invite link) is kept in memory only, until it expires: the stored body has a
/// placeholder. An email whose secret is gone before it could be sent (it expired, or the
/// daemon restarted) fails visibly; it is never sent blank.
public final class Mailer: Sendable {
    public static let secretPlaceholder = "{{secret}}"
    /// Emails handed to the delivery threads per run of `deliverMail`.
    static let dispatchBatch = 100

    private struct HeldSecret {
        let value: String
        let expiresAt: Instant
    }

    private let secrets = Mutex([String: HeldSecret]())
    private let clock: any TimeSource
    private let logger: Logger
    private let settings: MailSettings
    private let transport: any MailTransport
    private let engine: DeliveryEngine

    public init(settings: MailSettings = MailSettings(), clock: any TimeSource, logger: Logger) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
        switch settings.transport {
        case .log: transport = LogTransport(logger: logger)
        case .smtp(let smtp): transport = SMTPTransport(settings: smtp)
        }
        engine = DeliveryEngine(name: "tenantry-mail", concurrency: settings.concurrency, queueLimit: Self.dispatchBatch * 2)
    }

    public var statistics: DeliveryStatistics { engine.statistics }

    /// Adds an email to the outbox, within the caller's write.
    @discardableResult
    public func enqueue(_ db: Database, to recipient: String, _ email: Email, secret: String? = nil, secretExpiresAt: Instant? = nil) throws -> String {
        let id = try Self.queue(db, to: recipient, email, at: clock.now())
        if let secret, let secretExpiresAt {
            secrets.withLock { $0[id] = HeldSecret(value: secret, expiresAt: secretExpiresAt) }
        }
        return id
    }

    /// Adds an email without a secret to the outbox, within the caller's write: for changes
    /// made where no Mailer is at hand (a debit that sets off an alert).
    @discardableResult
    static func queue(_ db: Database, to recipient: String, _ email: Email, at now: Instant) throws -> String {
        let id = Secrets.identifier("eml")
        try OutboxEmail(
            id: id, recipient: recipient, subject: email.subject, body: email.body, status: .queued, attempts: 0, createdAt: now, sentAt: nil,
            lastError: nil, nextAttemptAt: now
        ).insert(db)
        return id
    }

    /// The body as the outbox shows it: the placeholder filled while the secret is valid.
    public func render(_ email: OutboxEmail) -> String {
        deliverableBody(email) ?? email.body.replacingOccurrences(of: Self.secretPlaceholder, with: "[expired]")
    }

    /// The body to send, or nil when it needs a secret that is no longer held.
    private func deliverableBody(_ email: OutboxEmail) -> String? {
        guard email.body.contains(Self.secretPlaceholder) else { return email.body }
        let now = clock.now()
        guard let secret = secrets.withLock({ $0[email.id] }), secret.expiresAt > now else { return nil }
        return email.body.replacingOccurrences(of: Self.secretPlaceholder, with: secret.value)
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

    /// Hands the emails that are due to the delivery threads and returns without waiting
    /// for them: a slow or stalled server holds back no other job. Each outcome is written
    /// when it comes. Answers how many were handed over or failed here.
    func dispatchDue(_ database: AppDatabase) async throws -> Int {
        let now = clock.now()
        let inFlight = engine.busy
        let due = try database.read { db in
            try OutboxEmail.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?"),
                arguments: [now, Self.dispatchBatch + inFlight.count]
            ).filter { !inFlight.contains($0.id) }
        }
        var items: [DeliveryEngine.Item<DeliveryOutcome>] = []
        var lost: [OutboxEmail] = []
        for email in due.prefix(Self.dispatchBatch) {
            guard let body = deliverableBody(email) else {
                lost.append(email)
                continue
            }
            let message = MailMessage(from: settings.from, to: email.recipient, subject: email.subject, text: body, date: now.date, id: email.id)
            let transport = self.transport
            items.append(DeliveryEngine.Item(id: email.id) { transport.send(message) })
        }
        let handled = engine.dispatch(items) { [self] id, outcome in await record(outcome, of: id, database: database) }
        if !lost.isEmpty {
            let gone = lost
            try await database.write { db in
                for var email in gone {
                    email.status = .failed
                    email.nextAttemptAt = nil
                    email.lastError =
                        "its one-time code or link was held in memory only and is gone (the daemon restarted, or it expired before it could be sent); it was not sent blank: ask for a new one"
                    try email.update(db)
                }
            }
            engine.countFailed(lost.count)
        }
        return handled + lost.count
    }

    private func record(_ outcome: DeliveryOutcome, of id: String, database: AppDatabase) async -> DeliveryEngine.Verdict? {
        let now = clock.now()
        let policy = settings.retry
        do {
            let status = try await database.write { db -> OutboxEmail.Status? in
                guard var email = try OutboxEmail.fetchOne(db, key: id), email.status == .queued else { return nil }
                email.attempts += 1
                switch outcome {
                case .delivered:
                    email.status = .sent
                    email.sentAt = now
                    email.nextAttemptAt = nil
                    email.lastError = nil
                case .permanent(let error):
                    email.status = .failed
                    email.nextAttemptAt = nil
                    email.lastError = error
                case .transient(let error):
                    email.nextAttemptAt = policy.nextAttempt(afterAttempt: email.attempts, queuedAt: email.createdAt, now: now)
                    email.status = email.nextAttemptAt == nil ? .failed : .queued
                    email.lastError = email.nextAttemptAt == nil ? "gave up after \(email.attempts) attempts: \(error)" : error
                }
                try email.update(db)
                return email.status
            }
            switch status {
            case .sent?: return .delivered
            case .queued?: return .retrying
            case .failed?:
                logger.warning("email failed", metadata: ["id": "\(id)", "outcome": "\(outcome)"])
                return .failed
            case nil: return nil
            }
        } catch {
            // Not written (the database refused): the email is still queued and due, so the
            // next run tries it again.
            logger.error("could not record an email's delivery", metadata: ["id": "\(id)", "error": "\(error)"])
            return nil
        }
    }

    /// Lets the sends under way finish; ends the delivery threads.
    func stop() { engine.stop() }
}
