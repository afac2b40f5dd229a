import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

/// Holds, caps, alerts, the ledger, the balance and batches over HTTP: every answer is
/// checked against the OpenAPI document by the test daemon.
@Suite("Credits for AI workloads over HTTP")
struct CreditsAPITests {
    @Test("a hold placed, replayed, settled and released over HTTP; auth/check places one too")
    func holds() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let key = try await daemon.apiKey(session)
        let base = "/v1/usage/tenants/\(tenantId)"
        let body: JSON = ["category": "USAGE_AI_CREDIT", "amount": 400, "agent_id": "bot", "ttl_seconds": 60, "idempotency_key": "h1"]
        let placed = try await daemon.ok("POST", "\(base)/holds", json: body, token: key.secret)
        #expect(placed["remaining"] == "9600")
        #expect(placed["hold"]?["status"] == "open")
        let holdId = try #require(placed["hold"]?["id"]?.string)
        let replay = try await daemon.call("POST", "\(base)/holds", json: body, token: key.secret)
        #expect(replay.header("idempotent-replayed") == "true")
        expectError(
            try await daemon.call(
                "POST", "\(base)/holds", json: ["category": "USAGE_AI_CREDIT", "amount": 401, "agent_id": "bot", "idempotency_key": "h1"], token: key.secret), code: 6)
        expectError(
            try await daemon.call("POST", "\(base)/holds", json: ["category": "USAGE_AI_CREDIT", "amount": 9_601, "idempotency_key": "h2"], token: key.secret), code: 9,
            containing: "reserved by 1 open hold")
        expectError(try await daemon.call("POST", "\(base)/holds", json: ["category": "USAGE_AI_CREDIT", "amount": 1, "ttl_seconds": 90_000, "idempotency_key": "h3"], token: key.secret), code: 3)
        let listed = try await daemon.ok("GET", "\(base)/holds?status=open", token: session)
        #expect(listed["holds"]?.arrayValue?.count == 1)
        expectError(try await daemon.call("GET", "\(base)/holds?status=lost", token: session), code: 3)

        let settled = try await daemon.ok("POST", "\(base)/holds/\(holdId)/settle", json: ["amount": 450, "idempotency_key": "s1"], token: key.secret)
        #expect(settled["consumed"] == "450")
        #expect(settled["remaining"] == "9550")
        #expect(settled["hold"]?["settled_amount"] == "450")
        expectError(try await daemon.call("POST", "\(base)/holds/\(holdId)/release", token: key.secret), code: 9, containing: "settled")
        expectError(try await daemon.call("POST", "\(base)/holds/hld_nothing/release", token: key.secret), code: 5)

        let checked = try await daemon.call(
            "GET", "/v1/auth/check", token: key.secret, headers: [("X-Usage-Amount", "50"), ("X-Idempotency-Key", "proxy-1"), ("X-Usage-Hold-Ttl", "30")])
        #expect(checked.status == 200)
        let proxyHold = try #require(checked.header("x-usage-hold-id"))
        #expect(try checked.json()["hold_id"]?.string == proxyHold)
        #expect(checked.header("x-credits-remaining") == "9500")
        let released = try await daemon.ok("POST", "\(base)/holds/\(proxyHold)/release", token: key.secret)
        #expect(released["hold"]?["status"] == "released")
        #expect(released["remaining"] == "9550")
        let balance = try await daemon.ok("GET", "\(base)/balance", token: key.secret)
        #expect(balance["balances"]?[0]?["available"] == "9550")
        #expect(balance["balances"]?[0]?["held"] == "0")
    }

    @Test("caps and alerts: admins set them, members read them; a cap refuses with its name")
    func capsAndAlerts() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let key = try await daemon.apiKey(session)
        let base = "/v1/usage/tenants/\(tenantId)"
        let limits = try await daemon.ok(
            "PUT", "\(base)/limits",
            json: [
                "limits": [
                    ["scope": "agent", "subject": "bot", "category": "USAGE_AI_CREDIT", "limit": 100, "window": "day"],
                    ["scope": "api_key", "subject": .string(key.id), "category": "USAGE_AI_CREDIT", "limit": "9000", "window": "month"],
                ]
            ], token: session)
        #expect(limits["limits"]?.arrayValue?.count == 2)
        expectError(
            try await daemon.call("PUT", "\(base)/limits", json: ["limits": [["scope": "robot", "subject": "x", "category": "USAGE_AI_CREDIT", "limit": 1, "window": "day"]]], token: session),
            code: 3, containing: "agent or api_key")
        expectError(
            try await daemon.call("PUT", "\(base)/limits", json: ["limits": [["scope": "agent", "subject": "x", "category": "USAGE_AI_CREDIT", "limit": 1, "window": "week"]]], token: session),
            code: 3, containing: "day, month or period")
        try await daemon.ok("POST", "\(base)/consume", json: ["category": "USAGE_AI_CREDIT", "amount": 90, "agent_id": "bot", "idempotency_key": "c1"], token: key.secret)
        expectError(
            try await daemon.call("POST", "\(base)/consume", json: ["category": "USAGE_AI_CREDIT", "amount": 11, "agent_id": "bot", "idempotency_key": "c2"], token: key.secret),
            code: 9, containing: "over the cap on agent bot for USAGE_AI_CREDIT per day: limit 100, used 90")
        let read = try await daemon.ok("GET", "\(base)/limits", token: key.secret)
        #expect(read["limits"]?.arrayValue?.compactMap { $0["used"]?.string } == ["90", "90"])

        let alerts = try await daemon.ok("PUT", "\(base)/alerts", json: ["thresholds": [["percent": 50], ["remaining": 100]], "email": false], token: session)
        #expect(alerts["settings"]?["inherited"] == false)
        #expect(alerts["settings"]?["email"] == false)
        expectError(try await daemon.call("PUT", "\(base)/alerts", json: ["thresholds": [["percent": 50, "remaining": 3]]], token: session), code: 3)
        expectError(try await daemon.call("PUT", "\(base)/alerts", json: ["thresholds": [["percent": 50]], "inherit": true], token: session), code: 3)
        try await daemon.ok("POST", "\(base)/consume", json: ["category": "USAGE_AI_CREDIT", "amount": 4_950, "idempotency_key": "c3"], token: key.secret)
        let fired = try await daemon.ok("GET", "\(base)/alerts", token: session)
        #expect(fired["alerts"]?.arrayValue?.compactMap { $0["event"]?.string } == ["credits.low"])
        #expect(fired["alerts"]?[0]?["threshold"]?["percent"] == 50)
        let inherited = try await daemon.ok("PUT", "\(base)/alerts", json: ["inherit": true], token: session)
        #expect(inherited["settings"]?["thresholds"]?.arrayValue?.compactMap { $0["percent"] } == [80, 100])
        #expect(inherited["settings"]?["email"] == false, "a field left out keeps its value")
    }

    @Test("the ledger as JSON and CSV; a batch answers each item; plans carry thresholds and rollover")
    func ledgerAndBatch() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, tenantId) = try await daemon.owner()
        let key = try await daemon.apiKey(session)
        let base = "/v1/usage/tenants/\(tenantId)"
        let batch = try await daemon.ok(
            "POST", "\(base)/consume/batch",
            json: [
                "items": [
                    ["category": "USAGE_AI_CREDIT", "amount": 10, "agent_id": "=HYPERLINK(\"x\")", "idempotency_key": "b1"],
                    ["category": "USAGE_AI_CREDIT", "amount": 99_999, "idempotency_key": "b2"],
                    ["category": "USAGE_AI_CREDIT", "amount": 5, "agent_id": "a,b", "idempotency_key": "b3"],
                ]
            ], token: key.secret)
        let results = try #require(batch["results"]?.arrayValue)
        #expect(results.map { $0["code"] } == [0, 9, 0])
        #expect(results[2]["remaining"] == "9985")
        expectError(try await daemon.call("POST", "\(base)/consume/batch", json: ["items": []], token: key.secret), code: 3)

        let ledger = try await daemon.ok("GET", "\(base)/ledger?order=desc&limit=2", token: session)
        #expect(ledger["entries"]?.arrayValue?.compactMap { $0["kind"]?.string } == ["debit", "debit"])
        #expect(ledger["page"]?["total"] == "3")
        expectError(try await daemon.call("GET", "\(base)/ledger?from=yesterday", token: session), code: 3, containing: "RFC 3339")
        expectError(try await daemon.call("GET", "\(base)/ledger?format=xml", token: session), code: 3)
        let csv = try await daemon.call("GET", "\(base)/ledger?format=csv", token: session)
        #expect(csv.header("content-type") == "text/csv; charset=utf-8")
        let lines = csv.text.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "seq,created_at,kind,category,amount,balance_after,held_after,grant_id,source,debit_id,hold_id,agent_id,dataset_id,drawn_from")
        #expect(lines.count == 4)
        #expect(lines[2].contains(",\"'=HYPERLINK(\"\"x\"\")\","), "a formula is defused and quoted: \(lines[2])")
        #expect(lines[3].contains(",\"a,b\","))

        let plan = try await daemon.ok(
            "PUT", "/v1/usage/plans/PRO", json: ["config": ["alert_thresholds": [90], "rollover": ["percent": 25, "max_amount": "1000", "valid_days": 30]]], token: op)
        #expect(plan["plan"]?["config"]?["alert_thresholds"] == [90])
        #expect(plan["plan"]?["config"]?["rollover"]?["max_amount"] == "1000")
        expectError(try await daemon.call("PUT", "/v1/usage/plans/PRO", json: ["config": ["alert_thresholds": [0]]], token: op), code: 3, containing: "alert_thresholds")
        expectError(try await daemon.call("PUT", "/v1/usage/plans/PRO", json: ["config": ["rollover": ["percent": 101]]], token: op), code: 3, containing: "rollover")
        let agents = try await daemon.ok("GET", "\(base)/agents", token: session)
        #expect(agents["agents"]?.arrayValue?.compactMap { $0["agent_id"]?.string } == ["=HYPERLINK(\"x\")", "a,b"], "most first")
        let daily = try await daemon.ok("GET", "\(base)/daily?days=7", token: session)["days"]?.arrayValue ?? []
        #expect(daily.count == 7)
        #expect(daily.last?["amount"] == "15", "today's debits")
        expectError(try await daemon.call("GET", "\(base)/daily?days=0", token: session), code: 3)
        let overview = try await daemon.ok("GET", "/v1/admin/overview", token: op)
        #expect(overview["tenants_below_threshold"] == "0")
    }
}
