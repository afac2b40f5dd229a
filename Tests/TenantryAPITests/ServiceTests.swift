import Foundation
import Logging
import TenantryAPI
import TenantryCore
import TenantryHTTP
import TenantryTesting
import Testing

@Suite("HTTP conventions, service routes and the console")
struct ServiceTests {
    @Test("every error has the seed's shape and status: unknown route, wrong method, bad credentials, wrong role")
    func errorShapes() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        expectError(try await daemon.call("GET", "/v1/nothing/here"), code: 5, containing: "no route")
        expectError(try await daemon.call("POST", "/v1/nothing/here", json: ["with": "a body"]), code: 5, containing: "no route")
        expectError(try await daemon.call("PUT", "/v1/account/login", json: ["email": "a@b.co"]), code: 5, containing: "use POST")
        let wrongMethod = try await daemon.call("GET", "/v1/account/login")
        expectError(wrongMethod, code: 5, containing: "use POST")
        #expect(wrongMethod.header("allow") == "POST")
        let missing = try await daemon.call("GET", "/v1/user")
        expectError(missing, code: 16, containing: "missing credentials")
        #expect(missing.header("www-authenticate") == "Bearer")
        expectError(try await daemon.call("GET", "/v1/user", token: "tns_forged"), code: 16)
        expectError(try await daemon.call("GET", "/v1/user", headers: [("Authorization", "Basic abc")]), code: 16)
        let user = try await daemon.signUp("kim@example.com")
        expectError(try await daemon.call("GET", "/v1/admin/outbox", token: user), code: 7, containing: "operator")
        expectError(try await daemon.call("GET", "/v1/admin/jobs", token: user), code: 7)
    }

    @Test("request bodies are capped at 1 MiB, declared or chunked, and the connection stays usable for others")
    func bodyLimit() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let big = [UInt8](repeating: 0x20, count: (1 << 20) + 1)
        expectError(try await daemon.call("POST", "/v1/account/login", rawBody: big), code: 3, containing: "1048576 bytes")
        expectError(try await daemon.call("POST", "/v1/account/login", rawBody: big, chunked: true), code: 3, containing: "1048576 bytes")
        try await daemon.ok("GET", "/healthz")
    }

    @Test("int64 fields are decimal strings, dates RFC 3339, unknown fields ignored, missing ones defaulted")
    func encodingConventions() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("lou@example.com")
        let page = try await daemon.ok("GET", "/v1/user/tenants", token: session)["page"]!
        #expect(page["limit"] == "20")
        #expect(page["page"] == "1")
        let user = try await daemon.ok("GET", "/v1/user", token: session)["user"]!
        let created = try #require(user["create_at"]?.stringValue)
        #expect(Instant(rfc3339: created) == daemon.clock.now())
        #expect(created.hasSuffix("Z"))
        #expect(user["subscription_info"]?["start_at"]?.stringValue == created)
        // A date that does not exist is null, not an empty string.
        #expect(try await daemon.ok("GET", "/v1/subscription", token: session)["subscription"]?["ended_at"] == .null)
        try await daemon.ok("POST", "/v1/user/name", json: ["name": "Lou", "nickname": "ignored", "extra": [1, 2]], token: session)
        // Text that could be read as HTML is escaped in JSON.
        try await daemon.ok("POST", "/v1/user/name", json: ["name": "<img src=x onerror=alert(1)>"], token: session)
        let raw = try await daemon.call("GET", "/v1/user", token: session)
        #expect(!raw.text.contains("<img"))
        #expect(try raw.json()["user"]?["name"] == "<img src=x onerror=alert(1)>")
    }

    @Test("healthz, readyz and metrics; metrics need loopback or an operator")
    func serviceRoutes() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        #expect(try await daemon.ok("GET", "/healthz")["status"] == "ok")
        #expect(try await daemon.ok("GET", "/readyz")["status"] == "ready")
        try await daemon.ok("GET", "/v1/user/tenants", json: nil, token: try await daemon.signUp("mo@example.com"))
        let metrics = try await daemon.call("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.text.contains("tenantry_http_requests_total{method=\"GET\",route=\"/v1/user/tenants\",status=\"200\"} 1"))
        #expect(metrics.text.contains("tenantry_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/account/register\",le=\"+Inf\"} 1"))
        #expect(metrics.text.contains("tenantry_db_commits_total"))
        #expect(metrics.text.contains("tenantry_mail_sent_total") && metrics.text.contains("tenantry_webhooks_delivered_total"))
        #expect(metrics.text.contains("tenantry_password_hash_memory_ceiling_bytes 131072"))

        // From anywhere but loopback, only an operator may read them.
        let render = API.errorRenderer(logger: Logger(label: "test"))
        let anonymous = await daemon.api.router.respond(to: Request(method: "GET", path: "/metrics", clientAddress: "203.0.113.9"), renderError: render)
        #expect(anonymous.status == 401)
        let op = try await daemon.operatorToken()
        let remote = await daemon.api.router.respond(
            to: Request(method: "GET", path: "/metrics", headers: ["authorization": "Bearer \(op)"], clientAddress: "203.0.113.9"), renderError: render
        )
        #expect(remote.status == 200)
    }

    @Test("the console is served from Public/ with a strict CSP; nothing outside it is")
    func console() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let index = try await daemon.call("GET", "/")
        #expect(index.status == 200)
        #expect(index.header("content-type") == "text/html; charset=utf-8")
        let csp = try #require(index.header("content-security-policy"))
        #expect(csp.contains("script-src 'self'"))
        #expect(!csp.contains("unsafe-inline"))
        #expect(index.header("x-frame-options") == "DENY")
        let etag = try #require(index.header("etag"))
        let revalidated = try await daemon.call("GET", "/", headers: [("If-None-Match", etag)])
        #expect(revalidated.status == 304)
        let script = try await daemon.call("GET", "/console/app.js")
        #expect(script.status == 200)
        #expect(script.header("content-type") == "text/javascript; charset=utf-8")
        expectError(try await daemon.call("GET", "/console/../Package.swift"), code: 5)
        expectError(try await daemon.call("GET", "/console/%2e%2e/Package.swift"), code: 5)
        expectError(try await daemon.call("GET", "/console/.gitkeep"), code: 5)
        expectError(try await daemon.call("GET", "/console/missing.js"), code: 5)
    }

    @Test("admin outbox and jobs for operators")
    func adminRoutes() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        try await daemon.ok("POST", "/v1/account/register", json: ["email": "ned@example.com"])
        let outbox = try await daemon.ok("GET", "/v1/admin/outbox", token: op)
        #expect(outbox["emails"]?[0]?["to"] == "ned@example.com")
        #expect(outbox["emails"]?[0]?["status"] == "queued")
        await daemon.app.scheduler.runDue()
        #expect(await eventually { daemon.app.mailer.statistics.delivered == 1 })
        let sent = try await daemon.ok("GET", "/v1/admin/outbox?limit=1", token: op)["emails"]?[0]
        #expect(sent?["status"] == "sent")
        #expect(sent?["attempts"] == "1")
        #expect(sent?["next_attempt_at"] == .null)
        expectError(try await daemon.call("GET", "/v1/admin/outbox?limit=0", token: op), code: 3)
        let jobs = try await daemon.ok("GET", "/v1/admin/jobs", token: op)["jobs"]!.arrayValue!
        #expect(
            jobs.map { $0["id"]!.string } == [
                "expireTrials", "renewPeriods", "grantAllowances", "rollOverGrants", "expireGrants", "expireHolds", "warnTrials", "deliverMail", "deliverWebhooks", "purgeExpired", "checkpointWAL",
            ])
        let mail = try #require(jobs.first { $0["id"] == "deliverMail" })
        #expect(mail["last_result"] == "ok")
        #expect(mail["items_processed"] == "1")
    }
}
