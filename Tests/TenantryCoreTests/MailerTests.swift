import Foundation
import GRDB
import TenantryTesting
import Testing

@testable import TenantryCore

@Suite("Mailer")
struct MailerTests {
    private static let template = Email(subject: "Your code", body: "Your code is \(Mailer.secretPlaceholder). Enjoy.")

    @Test("a secret is rendered while valid and reads [expired] after")
    func secretLifetime() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let mailer = Mailer(clock: clock, logger: quietLogger)
            let expiresAt = clock.now().adding(seconds: 60)
            let id = try await database.write { try mailer.enqueue($0, to: "bob@example.com", Self.template, secret: "S3CR3T-42", secretExpiresAt: expiresAt) }
            #expect(id.hasPrefix("eml_"))
            let stored = try #require(try database.read { try OutboxEmail.fetchOne($0, key: id) })
            #expect(stored.recipient == "bob@example.com")
            #expect(stored.subject == "Your code")
            #expect(stored.status == .queued)
            #expect(stored.attempts == 0)
            #expect(stored.createdAt == clock.now())
            #expect(mailer.render(stored) == "Your code is S3CR3T-42. Enjoy.")
            clock.advance(seconds: 59)
            #expect(mailer.render(stored) == "Your code is S3CR3T-42. Enjoy.")
            clock.advance(seconds: 1)
            #expect(mailer.render(stored) == "Your code is [expired]. Enjoy.")
        }
    }

    @Test("no secret text is stored in the outbox table")
    func noSecretAtRest() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let mailer = Mailer(clock: clock, logger: quietLogger)
            try await database.write { db in
                try mailer.enqueue(db, to: "bob@example.com", Self.template, secret: "S3CR3T-42", secretExpiresAt: clock.now().adding(seconds: 600))
                try mailer.enqueue(db, to: "bob@example.com", Self.template, secret: "https://x.test/invite?token=tni_abc", secretExpiresAt: clock.now().adding(seconds: 600))
            }
            let rows = try database.read { try Row.fetchAll($0, sql: "SELECT * FROM outbox") }
            #expect(rows.count == 2)
            for row in rows {
                let body: String = row["body"]
                #expect(body == "Your code is {{secret}}. Enjoy.")
                // Nowhere in the row, whatever the column.
                for column in row.columnNames {
                    let text = row[column].map { String(describing: $0) } ?? ""
                    #expect(!text.contains("S3CR3T") && !text.contains("tni_abc"), "\(column)")
                }
            }
        }
    }

    @Test("the registration code is absent from the raw outbox row but present when rendered")
    func registrationCodeAtRest() async throws {
        let harness = try Harness()
        _ = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        let bodies = try harness.database.read { try String.fetchAll($0, sql: "SELECT body FROM outbox") }
        #expect(bodies.count == 1)
        #expect(!bodies[0].contains(code))
        #expect(bodies[0].contains(Mailer.secretPlaceholder))
    }

    @Test("emails without a secret render as stored; a placeholder without a secret reads [expired]")
    func plainEmails() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let mailer = Mailer(clock: clock, logger: quietLogger)
            let (plain, orphan) = try await database.write { db in
                (
                    try mailer.enqueue(db, to: "a@example.com", Email(subject: "Hello", body: "No secrets here.")),
                    try mailer.enqueue(db, to: "a@example.com", Self.template)
                )
            }
            let emails = try database.read { db in try [plain, orphan].map { try #require(try OutboxEmail.fetchOne(db, key: $0)) } }
            #expect(mailer.render(emails[0]) == "No secrets here.")
            #expect(mailer.render(emails[1]) == "Your code is [expired]. Enjoy.")
            // Another mailer (a restarted daemon) does not know the secrets of the first.
            let secret = try await database.write { try mailer.enqueue($0, to: "a@example.com", Self.template, secret: "111111", secretExpiresAt: clock.now().adding(seconds: 60)) }
            let email = try #require(try database.read { try OutboxEmail.fetchOne($0, key: secret) })
            #expect(Mailer(clock: clock, logger: quietLogger).render(email) == "Your code is [expired]. Enjoy.")
        }
    }

    @Test("a write that rolls back leaves no email behind")
    func rollbackDropsEmail() async throws {
        struct Abort: Error {}
        try await withDatabase { database async throws in
            let mailer = Mailer(clock: ManualClock(), logger: quietLogger)
            await #expect(throws: Abort.self) {
                try await database.write { db in
                    try mailer.enqueue(db, to: "a@example.com", Self.template)
                    throw Abort()
                }
            }
            let count = try database.read { try OutboxEmail.fetchCount($0) }
            #expect(count == 0)
        }
    }

    @Test("forgetExpiredSecrets drops only the secrets past their expiry")
    func forgetExpired() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let mailer = Mailer(clock: clock, logger: quietLogger)
            let (short, long) = try await database.write { db in
                (
                    try mailer.enqueue(db, to: "a@example.com", Self.template, secret: "short", secretExpiresAt: clock.now().adding(seconds: 10)),
                    try mailer.enqueue(db, to: "a@example.com", Self.template, secret: "long", secretExpiresAt: clock.now().adding(seconds: 100))
                )
            }
            #expect(mailer.forgetExpiredSecrets() == 0)
            clock.advance(seconds: 10)
            #expect(mailer.forgetExpiredSecrets() == 1)
            #expect(mailer.forgetExpiredSecrets() == 0)
            let emails = try database.read { db in try [short, long].map { try #require(try OutboxEmail.fetchOne(db, key: $0)) } }
            #expect(mailer.render(emails[0]).contains("[expired]"))
            #expect(mailer.render(emails[1]).contains("long"))
        }
    }

    @Test("dispatchDue hands queued emails to the delivery threads once; each is recorded sent")
    func deliver() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let mailer = Mailer(clock: clock, logger: quietLogger)
            defer { mailer.stop() }
            try await database.write { db in
                for index in 0..<3 { try mailer.enqueue(db, to: "u\(index)@example.com", Email(subject: "Hello", body: "No secret in here.")) }
            }
            clock.advance(seconds: 5)
            #expect(try await mailer.dispatchDue(database) == 3)
            #expect(try await eventually { try database.read { try OutboxEmail.filter(OutboxEmail.Columns.status == "sent").fetchCount($0) } == 3 })
            #expect(try await mailer.dispatchDue(database) == 0)
            let emails = try database.read { try OutboxEmail.fetchAll($0) }
            #expect(emails.allSatisfy { $0.status == .sent && $0.attempts == 1 && $0.sentAt == clock.now() && $0.nextAttemptAt == nil })
            #expect(await eventually { mailer.statistics.delivered == 3 })
        }
    }

    @Test("an email whose code is no longer held fails visibly and is never sent blank")
    func lostSecret() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let before = Mailer(clock: clock, logger: quietLogger)
            let id = try await database.write {
                try before.enqueue(
                    $0, to: "a@example.com", Email(subject: "Code", body: "Your code is \(Mailer.secretPlaceholder)."), secret: "123456", secretExpiresAt: clock.now().adding(seconds: 600))
            }
            before.stop()
            // A new process: the code lived only in the old one's memory.
            let after = Mailer(clock: clock, logger: quietLogger)
            defer { after.stop() }
            #expect(try await after.dispatchDue(database) == 1)
            let email = try #require(try database.read { try OutboxEmail.fetchOne($0, key: id) })
            #expect(email.status == .failed)
            #expect(email.attempts == 0)
            #expect(email.lastError?.contains("not sent blank") == true)
            #expect(after.statistics.failed == 1)
        }
    }

    @Test("retries follow one policy: doubling from the first delay, held at the maximum, with jitter, until the maximum age")
    func retryPolicy() {
        let policy = RetryPolicy(firstDelaySeconds: 30, maximumDelaySeconds: 3600, maximumAgeSeconds: 86_400)
        let queued = Instant(milliseconds: 1_800_000_000_000)
        #expect(policy.nextAttempt(afterAttempt: 1, queuedAt: queued, now: queued, jitter: 1) == queued.adding(seconds: 30))
        #expect(policy.nextAttempt(afterAttempt: 3, queuedAt: queued, now: queued, jitter: 1) == queued.adding(seconds: 120))
        #expect(policy.nextAttempt(afterAttempt: 40, queuedAt: queued, now: queued, jitter: 1) == queued.adding(seconds: 3600))
        #expect(policy.nextAttempt(afterAttempt: 1, queuedAt: queued, now: queued, jitter: 0.8) == queued.adding(seconds: 24))
        #expect(policy.nextAttempt(afterAttempt: 1, queuedAt: queued, now: queued.adding(seconds: 86_390), jitter: 1) == nil)
    }

    @Test("Tenantry.outbox filters by recipient (case-insensitively) and lists newest first")
    func outboxListing() async throws {
        let harness = try Harness()
        _ = try await harness.accounts.register(email: "alice@example.com", client: "c")
        harness.clock.advance(seconds: 1)
        _ = try await harness.accounts.register(email: "bob@example.com", client: "c")
        harness.clock.advance(seconds: 1)
        _ = try await harness.accounts.register(email: "Alice@example.com", client: "c")
        #expect(try harness.tenantry.outbox().map(\.email.recipient) == ["alice@example.com", "bob@example.com", "alice@example.com"])
        #expect(try harness.tenantry.outbox(recipient: "ALICE@example.com").count == 2)
        #expect(try harness.tenantry.outbox(limit: 1).count == 1)
        #expect(try harness.tenantry.outbox(recipient: "carol@example.com").isEmpty)
    }
}
