import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

/// Sessions and API keys are answered from memory on the hot paths; each change below must
/// hold from the very next request, however warm the cache was.
@Suite("Credentials held in memory")
struct CredentialCacheTests {
    @Test("a revoked key fails on the next request, while a flood of requests keeps it warm")
    func revokedKey() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (keyId, secret) = try await daemon.apiKey(session)
        let path = "/v1/usage/tenants/\(tenantId)/balance"
        for _ in 0..<5 { try await daemon.ok("GET", path, token: secret) }
        // Requests race the revocation; once its answer is in, none may pass.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<25 { _ = try await daemon.call("GET", path, token: secret) } }
            }
            try await daemon.ok("DELETE", "/v1/tenant/api-keys/\(keyId)", token: session)
            for _ in 0..<10 { expectError(try await daemon.call("GET", path, token: secret), code: 16, containing: "revoked") }
            try await group.waitForAll()
        }
        expectError(try await daemon.call("GET", "/v1/auth/check", token: secret), code: 16)
    }

    @Test("a warm key still expires at its time")
    func keyExpiry() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let tomorrow = Instant(milliseconds: daemon.clock.now().milliseconds + 86_400_000)
        let created = try await daemon.ok(
            "POST", "/v1/tenant/api-keys", json: ["name": "short-lived", "scopes": ["usage.read"], "expires_at": .string(tomorrow.rfc3339)], token: session)
        let secret = created["plaintext_key"]!.string
        try await daemon.ok("GET", "/v1/usage/tenants/\(tenantId)/balance", token: secret)
        daemon.clock.advance(seconds: 86_400)
        expectError(try await daemon.call("GET", "/v1/usage/tenants/\(tenantId)/balance", token: secret), code: 16, containing: "expired")
    }

    @Test("an ended session, a disabled user, a lost membership and a switch hold at once")
    func sessionChanges() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (owner, tenantId) = try await daemon.owner()
        let op = try await daemon.operatorToken()

        // A member joins, is promoted, then removed: each request sees the role of the moment.
        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "pat@example.com", "role": "member"]]], token: owner)
        let pat = try await daemon.ok(
            "POST", "/v1/account/invite/accept",
            json: ["invite_token": .string(try daemon.latestInviteToken(for: "pat@example.com")), "password": "pat's password", "tenant_id": .string(tenantId)])["token"]!.string
        #expect(try await daemon.ok("GET", "/v1/user/tenants/current", token: pat)["tenant"]?["role"] == "member")
        expectError(try await daemon.call("GET", "/v1/tenant/api-keys", token: pat), code: 7)
        try await daemon.ok("POST", "/v1/tenant/members/role", json: ["email": "pat@example.com", "role": "admin"], token: owner)
        #expect(try await daemon.ok("GET", "/v1/user/tenants/current", token: pat)["tenant"]?["role"] == "admin")
        try await daemon.ok("GET", "/v1/tenant/api-keys", token: pat)
        try await daemon.ok("POST", "/v1/tenant/members/delete", json: ["email": "pat@example.com"], token: owner)
        expectError(try await daemon.call("GET", "/v1/tenant/api-keys", token: pat), code: 5)
        expectError(try await daemon.call("GET", "/v1/usage/tenants/\(tenantId)/balance", token: pat), code: 7, containing: "not a member")

        // The current tenant moves with a switch, either way.
        let (second, secondTenant) = try await daemon.owner("second@example.com")
        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "own@example.com"]]], token: second)
        try await daemon.ok(
            "POST", "/v1/account/invite/accept", json: ["invite_token": .string(try daemon.latestInviteToken(for: "own@example.com")), "password": "correct horse battery"])
        for target in [secondTenant, tenantId, secondTenant] {
            try await daemon.ok("POST", "/v1/user/tenants/switch", json: ["tenant_id": .string(target)], token: owner)
            #expect(try await daemon.ok("GET", "/v1/user/tenants/current", token: owner)["tenant"]?["id"]?.string == target)
        }

        // Logout.
        try await daemon.ok("GET", "/v1/user", token: second)
        try await daemon.ok("POST", "/v1/account/logout", token: second)
        expectError(try await daemon.call("GET", "/v1/user", token: second), code: 16)

        // A disabled user is refused on the next request; enabled again, a new login works.
        let userId = try await daemon.ok("GET", "/v1/user", token: owner)["user"]!["id"]!.string
        try await daemon.ok("POST", "/v1/admin/users/\(userId)/status", json: ["status": "DISABLED"], token: op)
        #expect(try await daemon.call("GET", "/v1/user", token: owner).status >= 400)
        try await daemon.ok("POST", "/v1/admin/users/\(userId)/status", json: ["status": "ACTIVE"], token: op)
        expectError(try await daemon.call("GET", "/v1/user", token: owner), code: 16, containing: "expired")
    }

    @Test("a profile change shows in the next answer")
    func profileChange() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (owner, _) = try await daemon.owner()
        #expect(try await daemon.ok("GET", "/v1/user", token: owner)["user"]?["name"] != "Renamed")
        try await daemon.ok("POST", "/v1/user/name", json: ["name": "Renamed"], token: owner)
        #expect(try await daemon.ok("GET", "/v1/user", token: owner)["user"]?["name"] == "Renamed")
    }
}
