import Foundation
import GRDB
import TenantryTesting
import Testing

@testable import TenantryCore

@Suite("Webhooks: signatures, address checks, events in the change's transaction")
struct WebhookTests {
    @Test("signatures match the Standard Webhooks specification's example")
    func signature() {
        // The example of the specification and of its reference libraries.
        let signature = WebhookSender.signature(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", messageId: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", body: "{\"test\": 2432232314}")
        #expect(signature == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSender.signature(secret: "not-a-secret", messageId: "m", timestamp: "1", body: "{}") == nil)
        #expect(Webhook.newSecret().hasPrefix("whsec_"))
    }

    @Test(
        "loopback, private, link-local, metadata and reserved addresses are refused; public ones pass",
        arguments: [
            ("127.0.0.1", true), ("10.1.2.3", true), ("172.16.0.1", true), ("172.31.255.255", true), ("192.168.1.1", true), ("169.254.169.254", true),
            ("100.64.0.1", true), ("0.0.0.0", true), ("224.0.0.1", true), ("192.0.2.1", true), ("::1", true), ("fd00::1", true), ("fe80::1", true),
            ("::ffff:127.0.0.1", true), ("::ffff:10.0.0.1", true), ("8.8.8.8", false), ("172.32.0.1", false), ("1.1.1.1", false), ("2606:4700:4700::1111", false),
        ])
    func addressPolicy(address: String, refused: Bool) {
        var bytes = [UInt8](repeating: 0, count: address.contains(":") ? 16 : 4)
        let parsed = bytes.withUnsafeMutableBytes { inet_pton(address.contains(":") ? AF_INET6 : AF_INET, address, $0.baseAddress) }
        #expect(parsed == 1)
        #expect(WebhookSender.isPrivate(bytes) == refused)
    }

    @Test("URLs: http(s) with a host only; private targets refused unless allowed")
    func targets() throws {
        for url in ["ftp://example.com/", "not a url", "http://user:pw@example.com/", "http:///nohost"] {
            #expect(throws: DomainError.self, "\(url)") { try WebhookSender.target(url, allowPrivate: true) }
        }
        #expect(throws: DomainError.self) { try WebhookSender.target("http://127.0.0.1:9/hook", allowPrivate: false) }
        #expect(throws: DomainError.self) { try WebhookSender.target("http://localhost:9/hook", allowPrivate: false) }
        let allowed = try WebhookSender.target("http://127.0.0.1:9/hook", allowPrivate: true)
        #expect(allowed.address == "127.0.0.1" && allowed.port == 9)
    }

    @Test("an event fans out to the active endpoints that take it, inside the change's transaction")
    func emitInTransaction() async throws {
        let harness = try Harness { $0.webhooks.allowPrivate = true }
        let service = harness.tenantry.webhooks
        let all = try await service.create(.init(name: "all", url: "http://127.0.0.1:9/a", events: ["*"], isActive: true), by: .system)
        let keys = try await service.create(.init(name: "keys", url: "http://127.0.0.1:9/b", events: ["api_key.created"], isActive: true), by: .system)
        _ = try await service.create(.init(name: "off", url: "http://127.0.0.1:9/c", events: ["*"], isActive: false), by: .system)
        await #expect(throws: DomainError.self) {
            try await service.create(.init(name: "bad", url: "http://127.0.0.1:9/d", events: ["invoice.exploded"], isActive: true), by: .system)
        }
        let now = harness.clock.now()
        try await harness.database.write { db in try WebhookEvents.emit(db, "tenant.created", [("tenant_id", "tnt_x"), ("name", "X")], at: now) }
        // A change that fails takes its event with it.
        _ = try? await harness.database.write { db -> Int in
            try WebhookEvents.emit(db, "api_key.created", [("api_key_id", "key_x")], at: now)
            throw DomainError.invalidArgument("the change failed")
        }
        let rows = try harness.database.read { try WebhookDelivery.order(WebhookDelivery.Columns.webhookId).fetchAll($0) }
        #expect(rows.map(\.webhookId) == [all.id])
        #expect(rows.allSatisfy { $0.status == .pending && $0.eventType == "tenant.created" })
        let payload = try JSONSerialization.jsonObject(with: Data(rows[0].payload.utf8)) as? [String: Any]
        #expect(payload?["type"] as? String == "tenant.created")
        #expect(payload?["version"] as? Int == 1)
        #expect((payload?["data"] as? [String: String])?["tenant_id"] == "tnt_x")
        try await harness.database.write { db in try WebhookEvents.emit(db, "api_key.created", [("api_key_id", "key_y")], at: now) }
        let fanned = try harness.database.read { try WebhookDelivery.filter(WebhookDelivery.Columns.eventType == "api_key.created").fetchAll($0) }
        #expect(Set(fanned.map(\.webhookId)) == [all.id, keys.id])
        #expect(Set(fanned.map(\.messageId)).count == 1, "one event, one webhook-id")
    }

    @Test("JSON strings in payloads are escaped")
    func escaping() throws {
        let payload = WebhookEvents.payload("tenant.created", [("name", "a\"b\\c\n\u{1}é")], at: Instant(milliseconds: 0))
        let decoded = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
        #expect((decoded?["data"] as? [String: String])?["name"] == "a\"b\\c\n\u{1}é")
    }

    @Test("an endpoint failing past the limit is turned off and the operators are emailed; its failures are logged per attempt")
    func disablesAfterFailing() async throws {
        let harness = try Harness {
            $0.webhooks.allowPrivate = true
            $0.webhooks.disableAfterFailingSeconds = 120
            $0.webhooks.retry = RetryPolicy(firstDelaySeconds: 30, maximumDelaySeconds: 60, maximumAgeSeconds: 86_400)
        }
        _ = try await harness.tenantry.accounts.createOperator(email: "ops@example.com", password: "operator password")
        let service = harness.tenantry.webhooks
        // Nothing listens on port 9 (discard) here: every attempt is refused at once.
        let webhook = try await service.create(.init(name: "dead", url: "http://127.0.0.1:9/hook", events: ["*"], isActive: true), by: .system)
        let delivery = try await service.sendTest(webhookId: webhook.id, by: .system)
        func attempts() throws -> Int {
            try harness.database.read { try WebhookAttempt.filter(WebhookAttempt.Columns.deliveryId == delivery.id).fetchCount($0) }
        }
        // Attempts at 0 s, 80 s and 160 s (past each retry, jitter included): the third comes past the 120 s.
        for round in 1...3 {
            #expect(try service.get(id: webhook.id).isActive)
            #expect(try await service.dispatchDue() == 1, "round \(round)")
            #expect(try await eventually { try attempts() == round && service.statistics.inFlight == 0 })
            harness.clock.advance(seconds: 80)
        }
        let after = try service.get(id: webhook.id)
        #expect(!after.isActive)
        #expect(after.consecutiveFailures == 3)
        #expect(try await service.dispatchDue() == 0, "an endpoint turned off gets nothing more")
        let mail = try harness.mails(to: "ops@example.com")
        #expect(mail.contains { $0.email.subject == "Tenantry disabled the webhook dead" })
        let logged = try harness.database.read { try WebhookAttempt.filter(WebhookAttempt.Columns.deliveryId == delivery.id).fetchAll($0) }
        #expect(logged.allSatisfy { ($0.errorMessage ?? "").isEmpty == false && $0.httpStatus == nil })
    }
}
