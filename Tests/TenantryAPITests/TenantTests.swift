import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

@Suite("Tenants, members and invitations")
struct TenantTests {
    @Test("an owner invites a teammate, who accepts as a new user and joins with the invited role")
    func inviteNewUser() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let owner = try await daemon.signUp("olga@example.com")
        let tenantId = try await daemon.ok("GET", "/v1/user/tenants/current", token: owner)["tenant"]!["id"]!.string

        let invite = try await daemon.ok(
            "POST", "/v1/tenant/members/invite",
            json: [
                "members": [
                    ["email": "Pat@Example.com", "role": "admin"], ["email": "broken"], ["email": "olga@example.com"], ["email": "quinn@example.com", "role": "boss"],
                ]
            ], token: owner)
        let rets = try #require(invite["rets"]?.arrayValue)
        #expect(rets.count == 4)
        #expect(rets[0]["status"] == "SC_OK")
        #expect(rets[0]["email"] == "pat@example.com")
        #expect(rets[0]["invited_url"]?.string.hasPrefix("https://app.example.test/invite?token=tni_") == true)
        #expect(rets[1]["status"] == "SC_INVALID_ARGUMENT")
        #expect(rets[2]["status"] == "SC_ALREADY_EXISTS")
        #expect(rets[3]["status"] == "SC_INVALID_ARGUMENT")
        #expect(rets[3]["message"]?.string.contains("owner, admin, member") == true)

        let token = try daemon.latestInviteToken(for: "pat@example.com")
        #expect(rets[0]["invited_url"]?.string.hasSuffix(token) == true)
        let check = try await daemon.ok("POST", "/v1/account/invite/check", json: ["invite_token": .string(token)])
        #expect(check["invite_email"] == "pat@example.com")
        #expect(check["tenant_id"]?.string == tenantId)

        let pending = try await daemon.ok("GET", "/v1/tenant/members", token: owner)
        #expect(pending["members"]?.arrayValue?.contains { $0["email"] == "pat@example.com" && $0["status"] == "INVITED" } == true)

        expectError(
            try await daemon.call("POST", "/v1/account/invite/accept", json: ["invite_token": .string(token), "email": "mallory@example.com", "password": "pat's password"]), code: 7,
            containing: "another address")
        expectError(try await daemon.call("POST", "/v1/account/invite/accept", json: ["invite_token": .string(token), "password": "short"]), code: 3, containing: "at least 8")
        let pat = try await daemon.ok(
            "POST", "/v1/account/invite/accept", json: ["invite_token": .string(token), "email": "pat@example.com", "password": "pat's password", "tenant_id": .string(tenantId)])["token"]!.string
        let current = try await daemon.ok("GET", "/v1/user/tenants/current", token: pat)
        #expect(current["tenant"]?["id"]?.string == tenantId)
        #expect(current["tenant"]?["role"] == "admin")
        #expect(try await daemon.ok("GET", "/v1/user", token: pat)["user"]?["status"] == "ACTIVE")

        // Single use.
        expectError(try await daemon.call("POST", "/v1/account/invite/check", json: ["invite_token": .string(token)]), code: 5)
        expectError(try await daemon.call("POST", "/v1/account/invite/accept", json: ["invite_token": .string(token), "password": "pat's password"]), code: 5)
        expectError(try await daemon.call("POST", "/v1/account/invite/check", json: [:]), code: 3)
    }

    @Test("an existing user accepts with their password; invitations expire and re-inviting replaces the link")
    func inviteExistingUser() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let owner = try await daemon.signUp("rita@example.com")
        _ = try await daemon.signUp("sam@example.com", password: "sam's password")
        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "sam@example.com"]]], token: owner)
        let first = try daemon.latestInviteToken(for: "sam@example.com")
        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "sam@example.com"]]], token: owner)
        let second = try daemon.latestInviteToken(for: "sam@example.com")
        #expect(first != second)
        expectError(try await daemon.call("POST", "/v1/account/invite/check", json: ["invite_token": .string(first)]), code: 5)

        expectError(try await daemon.call("POST", "/v1/account/invite/accept", json: ["invite_token": .string(second), "password": "not sam's pass"]), code: 16)
        let sam = try await daemon.ok("POST", "/v1/account/invite/accept", json: ["invite_token": .string(second), "password": "sam's password"])["token"]!.string
        let list = try await daemon.ok("GET", "/v1/user/tenants", token: sam)
        #expect(list["page"]?["total"] == "2")
        #expect(try await daemon.ok("GET", "/v1/user/tenants/current", token: sam)["tenant"]?["role"] == "member")

        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "tess@example.com"]]], token: owner)
        let late = try daemon.latestInviteToken(for: "tess@example.com")
        daemon.clock.advance(seconds: 7 * 86_400 + 1)
        expectError(try await daemon.call("POST", "/v1/account/invite/accept", json: ["invite_token": .string(late), "password": "tess's password"]), code: 5, containing: "expired")
    }

    @Test("roles: members cannot manage, admins cannot touch owners, a tenant always keeps an owner")
    func roleRules() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let owner = try await daemon.signUp("uma@example.com")
        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "vic@example.com", "role": "admin"], ["email": "wes@example.com", "role": "member"]]], token: owner)
        let vic = try await daemon.ok("POST", "/v1/account/invite/accept", json: ["invite_token": .string(try daemon.latestInviteToken(for: "vic@example.com")), "password": "vic's password"])[
            "token"]!.string
        let wes = try await daemon.ok("POST", "/v1/account/invite/accept", json: ["invite_token": .string(try daemon.latestInviteToken(for: "wes@example.com")), "password": "wes's password"])[
            "token"]!.string

        expectError(try await daemon.call("POST", "/v1/tenant/members/invite", json: ["members": [["email": "x@example.com"]]], token: wes), code: 7, containing: "admin role")
        expectError(try await daemon.call("POST", "/v1/tenant/members/delete", json: ["email": "vic@example.com"], token: wes), code: 7)
        try await daemon.ok("GET", "/v1/tenant/members", token: wes)

        let ownerInvite = try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "xen@example.com", "role": "owner"]]], token: vic)
        #expect(ownerInvite["rets"]?[0]?["status"] == "SC_PERMISSION_DENIED")
        expectError(try await daemon.call("POST", "/v1/tenant/members/role", json: ["email": "wes@example.com", "role": "owner"], token: vic), code: 7)
        expectError(try await daemon.call("POST", "/v1/tenant/members/role", json: ["email": "uma@example.com", "role": "member"], token: vic), code: 7)
        expectError(try await daemon.call("POST", "/v1/tenant/members/delete", json: ["email": "uma@example.com"], token: vic), code: 7)
        try await daemon.ok("POST", "/v1/tenant/members/role", json: ["email": "wes@example.com", "role": "admin"], token: vic)
        expectError(try await daemon.call("POST", "/v1/tenant/members/role", json: ["email": "wes@example.com", "role": "king"], token: vic), code: 3)
        expectError(try await daemon.call("POST", "/v1/tenant/members/role", json: ["email": "nobody@example.com", "role": "member"], token: vic), code: 5)

        expectError(try await daemon.call("POST", "/v1/tenant/members/role", json: ["email": "uma@example.com", "role": "admin"], token: owner), code: 3, containing: "at least one owner")
        expectError(try await daemon.call("POST", "/v1/tenant/members/delete", json: ["email": "uma@example.com"], token: owner), code: 3, containing: "at least one owner")
        try await daemon.ok("POST", "/v1/tenant/members/role", json: ["email": "vic@example.com", "role": "owner"], token: owner)
        try await daemon.ok("POST", "/v1/tenant/members/delete", json: ["email": "uma@example.com"], token: vic)
        expectError(try await daemon.call("GET", "/v1/tenant/members", token: owner), code: 5)
        // A removed member no longer reaches the tenant (and this one has no other).
        try await daemon.ok("POST", "/v1/tenant/members/delete", json: ["email": "wes@example.com"], token: vic)
        expectError(try await daemon.call("GET", "/v1/user/tenants/current", token: wes), code: 5, containing: "not a member")
    }

    @Test("tenant list pages; switching only to one's own tenants")
    func listAndSwitch() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let yan = try await daemon.signUp("yan@example.com", password: "yan's password")
        var tenantIds: [String] = []
        for index in 0..<3 {
            let owner = try await daemon.signUp("owner\(index)@example.com")
            tenantIds.append(try await daemon.ok("GET", "/v1/user/tenants/current", token: owner)["tenant"]!["id"]!.string)
            try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "yan@example.com"]]], token: owner)
            try await daemon.ok("POST", "/v1/account/invite/accept", json: ["invite_token": .string(try daemon.latestInviteToken(for: "yan@example.com")), "password": "yan's password"])
        }
        let first = try await daemon.ok("GET", "/v1/user/tenants?page=1&limit=3", token: yan)
        #expect(first["tenants"]?.arrayValue?.count == 3)
        #expect(first["page"]?["has_more"] == true)
        #expect(first["page"]?["total"] == "4")
        let second = try await daemon.ok("GET", "/v1/user/tenants?page=2&limit=3", token: yan)
        #expect(second["tenants"]?.arrayValue?.count == 1)
        #expect(second["page"]?["has_more"] == false)
        expectError(try await daemon.call("GET", "/v1/user/tenants?limit=0", token: yan), code: 3)
        expectError(try await daemon.call("GET", "/v1/user/tenants?limit=101", token: yan), code: 3)
        expectError(try await daemon.call("GET", "/v1/user/tenants?page=abc", token: yan), code: 3)

        let switched = try await daemon.ok("POST", "/v1/user/tenants/switch", json: ["tenant_id": .string(tenantIds[1])], token: yan)
        #expect(switched["tenant_info"]?["id"]?.string == tenantIds[1])
        #expect(switched["tenant_info"]?["is_current"] == true)
        #expect(try await daemon.ok("GET", "/v1/user/tenants/current", token: yan)["tenant"]?["id"]?.string == tenantIds[1])

        let stranger = try await daemon.signUp("zed@example.com")
        expectError(try await daemon.call("POST", "/v1/user/tenants/switch", json: ["tenant_id": .string(tenantIds[1])], token: stranger), code: 5)
        expectError(try await daemon.call("POST", "/v1/user/tenants/switch", json: [:], token: stranger), code: 3)
    }
}
