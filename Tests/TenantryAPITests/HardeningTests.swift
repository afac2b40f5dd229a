import Foundation
import GRDB
import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

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
            if response.status != 200 { refused = response; break }
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
}
