import Foundation
import GRDB
import TenantryAPI
import TenantryTesting
import Testing

@testable import TenantryCore

/// What bad input and bad conditions get: a clear 4xx or 503, never a 500 or a crash.
@Suite("Hardening")
struct HardeningTests {
    @Test("a full disk: writes answer 503 code 14 with Retry-After, /readyz says why, a metric counts; nothing acknowledged is lost")
    func diskFull() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        let path = "/v1/usage/tenants/\(tenantId)/consume"
        func debit(_ key: String) async throws -> HTTPResponse {
            try await daemon.call("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": .string(key)], token: secret)
        }
        #expect(try await debit("before").status == 200)

        // SQLite's page limit on the writer's connection fails writes as a full disk does (SQLITE_FULL).
        let pages = try daemon.app.database.read { try Int.fetchOne($0, sql: "PRAGMA page_count") ?? 0 }
        try await daemon.app.database.write { try $0.execute(sql: "PRAGMA max_page_count = \(pages)") }
        var refused: HTTPResponse?
        for index in 0..<200 {
            let response = try await debit("full-\(index)")
            if response.status != 200 {
                refused = response
                break
            }
        }
        let full = try #require(refused, "the page limit never filled")
        expectError(full, code: 14, containing: "disk is full")
        #expect(full.header("retry-after") == "30")
        let ready = try await daemon.call("GET", "/readyz")
        expectError(ready, code: 14, containing: "disk is full")
        let metrics = try await daemon.call("GET", "/metrics")
        #expect(!metrics.text.contains("tenantry_db_failed_commits_total 0\n"))
        #expect(metrics.text.contains("tenantry_db_failed_commits_total"))

        // Room again: writes and readiness come back; every acknowledged debit is in the ledger.
        try await daemon.app.database.write { try $0.execute(sql: "PRAGMA max_page_count = 4294967294") }
        #expect(try await debit("after").status == 200)
        #expect(try await daemon.call("GET", "/readyz").status == 200)
        let acknowledged = try daemon.app.database.read {
            try Int.fetchOne($0, sql: "SELECT count(*) FROM credit_debit WHERE tenant_id = ?", arguments: [tenantId]) ?? 0
        }
        let keys = try daemon.app.database.read {
            try String.fetchAll($0, sql: "SELECT idempotency_key FROM credit_debit WHERE tenant_id = ?", arguments: [tenantId])
        }
        #expect(keys.contains("before") && keys.contains("after"))
        #expect(acknowledged == keys.count)
        #expect(try daemon.app.database.integrityProblems().isEmpty)
    }

    @Test("amounts are bounded by 2^53 - 1: grants, balances, debits, plan allowances and add-ons; nothing overflows afterwards")
    func amountBounds() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        let grants = "/v1/admin/tenants/\(tenantId)/credits"
        func grant(_ amount: JSON) async throws -> HTTPResponse {
            try await daemon.call("POST", grants, json: ["category": "USAGE_AI_CREDIT", "amount": amount, "expires_at": "2030-01-01T00:00:00Z", "reason": "test"], token: op)
        }
        for poison: JSON in ["9223372036854775807", "9007199254740992", "-1", "0", "9223372036854775808"] {
            #expect(try await grant(poison).status == 400, "grant of \(poison)")
        }
        // The trial's 10000 plus this reaches the bound exactly; one more credit does not fit.
        #expect(try await grant(.string(String(Amount.maximum - 10_000))).status == 200)
        expectError(try await grant(1), code: 3, containing: "balance would be more than")
        let consume = "/v1/usage/tenants/\(tenantId)/consume"
        expectError(
            try await daemon.call("POST", consume, json: ["category": "USAGE_AI_CREDIT", "amount": "9223372036854775807", "idempotency_key": "k"], token: secret),
            code: 3, containing: "between 1 and"
        )
        let all = try await daemon.ok("POST", consume, json: ["category": "USAGE_AI_CREDIT", "amount": .string(String(Amount.maximum)), "idempotency_key": "all"], token: secret)
        #expect(all["remaining"] == "0")
        #expect(try await daemon.call("GET", "/v1/usage/tenants/\(tenantId)/current", token: secret).status == 200)
        #expect(try await daemon.call("GET", "/v1/auth/check", token: secret).status == 200)
        #expect(try await daemon.call("GET", "/v1/admin/tenants/\(tenantId)", token: op).status == 200)
        #expect(try daemon.app.database.integrityProblems().isEmpty)

        // A plan allowance past the bound, and add-ons whose credits or price would pass it.
        expectError(
            try await daemon.call("PUT", "/v1/usage/plans/PRO", json: ["config": ["usage_configs": [["category": "USAGE_AI_CREDIT", "total_amount": "9007199254740992"]]]], token: op),
            code: 3, containing: "total_amount"
        )
        expectError(
            try await daemon.call("POST", "/v1/admin/variants", json: ["kind": "addon", "category": "USAGE_AI_CREDIT", "units": "9223372036854775807", "price": "1", "currency": "USD"], token: op),
            code: 3, containing: "units"
        )
        try await daemon.ok("POST", "/v1/admin/variants", json: ["kind": "addon", "category": "USAGE_AI_CREDIT", "units": "9007199254740991", "price": "1", "currency": "USD"], token: op)
        expectError(
            try await daemon.call("POST", "/v1/subscription/addons/purchase", json: ["purchases": [["category": "USAGE_AI_CREDIT", "quantity": 2]]], token: session),
            code: 3, containing: "would be more than"
        )
    }

    @Test("pages past any list and control characters in fields are refused with code 3")
    func pagesAndControlCharacters() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        for path in ["/v1/user/tenants", "/v1/admin/tenants", "/v1/admin/users", "/v1/admin/audit"] {
            expectError(try await daemon.call("GET", "\(path)?page=9223372036854775807", token: path.hasPrefix("/v1/admin") ? op : session), code: 3, containing: "page")
        }
        for key in ["\u{0}", "a\u{0}b", "\u{1F}", "\u{7F}", "tab\there"] {
            expectError(
                try await daemon.call("POST", "/v1/usage/tenants/\(tenantId)/consume", json: ["category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": .string(key)], token: secret),
                code: 3, containing: "control characters"
            )
        }
        expectError(try await daemon.call("POST", "/v1/user/name", json: ["name": "Ann\u{0}"], token: session), code: 3, containing: "control characters")
        #expect(try await daemon.call("POST", "/v1/user/name", json: ["name": "Ann Lee"], token: session).status == 200)
    }

    @Test("a report stuck on its threads holds back no /healthz, consume or login, only other reports")
    func slowReportsStayApart() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        // Occupy every report thread with a read that waits to be released.
        let release = DispatchSemaphore(value: 0)
        let stuck = (0..<2).map { _ in Task { try await daemon.app.database.report { _ in release.wait() } } }
        let finished = Locked(false)
        let report = Task {
            defer { finished.set(true) }
            return try await daemon.call("GET", "/v1/usage/tenants/\(tenantId)/current", token: secret)
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!finished.value, "the report should be waiting for a report thread")
        #expect(try await daemon.call("GET", "/healthz").status == 200)
        let debit = try await daemon.call("POST", "/v1/usage/tenants/\(tenantId)/consume", json: ["category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": "while-stuck"], token: secret)
        #expect(debit.status == 200)
        #expect(try await daemon.call("GET", "/v1/auth/check", token: secret).status == 200)
        #expect(!finished.value)
        release.signal()
        release.signal()
        for task in stuck { try await task.value }
        let answer = try await report.value
        #expect(answer.status == 200)
        #expect(try answer.json()["config"]?["usage_configs"]?[0]?["used_amount"] == "1")
    }

    @Test("usage per agent and dataset comes from running totals per allowance window, which check proves against the debits")
    func usageTotals() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        for (index, agent) in ["a", "b", "a"].enumerated() {
            try await daemon.ok(
                "POST", "/v1/usage/tenants/\(tenantId)/consume",
                json: [
                    "category": "USAGE_AI_CREDIT", "amount": .string(String(10 * (index + 1))), "agent_id": .string(agent), "dataset_id": "faq", "idempotency_key": .string("k\(index)"),
                ], token: secret)
        }
        let agents = try await daemon.ok("POST", "/v1/usage/tenants/\(tenantId)/agents/credits", json: ["agent_ids": ["a", "b", "c", "a"]], token: secret)
        #expect(agents["agent_credits"]?["a"] == "40")
        #expect(agents["agent_credits"]?["b"] == "20")
        #expect(agents["agent_credits"]?["c"] == "0")
        let current = try await daemon.ok("GET", "/v1/usage/tenants/\(tenantId)/current", token: secret)
        #expect(current["config"]?["dataset_usages"]?["faq"]?["used_amount"] == "60")
        #expect(try daemon.app.database.integrityProblems().isEmpty)
        try await daemon.app.database.write { try $0.execute(sql: "UPDATE usage_total SET amount = amount + 1 WHERE subject = 'b'") }
        let problems = try daemon.app.database.integrityProblems()
        #expect(problems.count == 1 && problems[0].contains("agent b"), "\(problems)")
    }

    @Test("routes that hash refuse at once with 429 while the hashing queue is full, before their request is suspended")
    func hashingAdmission() async throws {
        let daemon = try TestDaemon { $0.hashingQueueLimit = 0 }
        defer { daemon.stop() }
        let login = try await daemon.call("POST", "/v1/account/login", json: ["email": "nobody@example.com", "password": "wrong password"])
        expectError(login, code: 8, containing: "password checks")
        #expect(login.header("retry-after") == "1")
        #expect(daemon.app.hasher.statistics.refused >= 1)
        #expect(daemon.app.hasher.statistics.completed == 0)
        let hashing = daemon.api.endpoints.filter(\.hashesPassword).map { "\($0.method) \($0.path)" }.sorted()
        #expect(hashing == ["POST /v1/account/invite/accept", "POST /v1/account/login", "POST /v1/account/password/forgot/reset", "POST /v1/user/initial", "POST /v1/user/password"])
    }

    @Test("an allowance granted late opens its window retroactively: the debits since its start move with it")
    func backdatedAllowance() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        daemon.clock.advance(seconds: 3600)
        try await daemon.ok(
            "POST", "/v1/usage/tenants/\(tenantId)/consume", json: ["category": "USAGE_AI_CREDIT", "amount": 7, "agent_id": "a", "dataset_id": "faq", "idempotency_key": "k1"], token: secret)
        // A month's allowance that began ten minutes before that debit, granted only now.
        let now = daemon.clock.now()
        try await daemon.app.database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO credit_grant (id, tenant_id, category, amount, used, effective_at, expires_at, source, priority, reason, created_at, expired)
                    VALUES ('grt_late', ?, 'USAGE_AI_CREDIT', 100, 0, ?, ?, 'plan', 0, '', ?, 0)
                    """, arguments: [tenantId, now.adding(seconds: -600), now.adding(days: 30), now])
            try Ledger.openWindow(db, tenantId: tenantId, start: now.adding(seconds: -600), grantSeq: db.lastInsertedRowID, at: now)
        }
        let agents = try await daemon.ok("POST", "/v1/usage/tenants/\(tenantId)/agents/credits", json: ["agent_ids": ["a"]], token: secret)
        #expect(agents["agent_credits"]?["a"] == "7")
        let current = try await daemon.ok("GET", "/v1/usage/tenants/\(tenantId)/current", token: secret)
        #expect(current["config"]?["dataset_usages"]?["faq"]?["used_amount"] == "7")
        #expect(try daemon.app.database.integrityProblems().isEmpty)
        let windows = try daemon.app.database.read { try Int.fetchOne($0, sql: "SELECT count(DISTINCT window_start) FROM usage_total WHERE tenant_id = ?", arguments: [tenantId]) }
        #expect(windows == 1, "nothing left behind in the window before")
    }
}

/// A value behind a lock, for flags set on another thread.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
}

/// The webhook routes, their answers checked against the OpenAPI document by `TestDaemon`.
@Suite("Webhooks over HTTP")
struct WebhookAPITests {
    @Test("every webhook route answers the shapes the document describes; bad input is code 3, unknown ids code 5")
    func routes() async throws {
        let daemon = try TestDaemon { $0.webhooks.allowPrivate = true }
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let events = try await daemon.ok("GET", "/v1/admin/webhook-events", token: op)["events"]!.arrayValue!
        #expect(events.count == WebhookEvents.catalogue.count)
        let created = try await daemon.ok("POST", "/v1/admin/webhooks", json: ["name": "hook", "url": "http://127.0.0.1:9/h", "events": ["*"]], token: op)
        let id = created["webhook"]!["id"]!.string
        #expect(created["secret"]!.string.hasPrefix("whsec_"))
        #expect(try await daemon.ok("GET", "/v1/admin/webhooks", token: op)["webhooks"]?.arrayValue?.count == 1)
        #expect(try await daemon.ok("GET", "/v1/admin/webhooks/\(id)", token: op)["webhook"]?["is_active"] == .bool(true))
        try await daemon.ok("PUT", "/v1/admin/webhooks/\(id)", json: ["name": "hook", "url": "http://127.0.0.1:9/h", "events": ["invoice.paid"]], token: op)
        let rotated = try await daemon.ok("POST", "/v1/admin/webhooks/\(id)/rotate-secret", token: op)
        #expect(rotated["secret"]!.string != created["secret"]!.string)
        let delivery = try await daemon.ok("POST", "/v1/admin/webhooks/\(id)/test", token: op)["delivery"]!
        #expect(delivery["status"] == "pending")
        let listed = try await daemon.ok("GET", "/v1/admin/webhooks/\(id)/deliveries", token: op)
        #expect(listed["deliveries"]?.arrayValue?.count == 1)
        expectError(try await daemon.call("POST", "/v1/admin/webhooks/\(id)/deliveries/\(delivery["id"]!.string)/redeliver", token: op), code: 3, containing: "still being tried")
        expectError(try await daemon.call("POST", "/v1/admin/webhooks", json: ["name": "x", "url": "ftp://x", "events": ["*"]], token: op), code: 3)
        expectError(try await daemon.call("POST", "/v1/admin/webhooks", json: ["name": "x", "url": "http://127.0.0.1:9/", "events": ["nope"]], token: op), code: 3, containing: "unknown event type")
        expectError(try await daemon.call("GET", "/v1/admin/webhooks/whk_missing", token: op), code: 5)
        try await daemon.ok("DELETE", "/v1/admin/webhooks/\(id)", token: op)
        #expect(try await daemon.ok("GET", "/v1/admin/webhooks", token: op)["webhooks"]?.arrayValue?.isEmpty == true)
    }
}
