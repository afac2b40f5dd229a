import Foundation
import GRDB
import Testing

@testable import TenantryCore

/// Alice owns a workspace; helpers to bring others in.
private struct Team {
    let harness: Harness
    let aliceToken: String

    init(_ adjust: (inout Settings) -> Void = { _ in }) async throws {
        harness = try Harness(adjust)
        aliceToken = try await harness.activeUser("alice@example.com", password: "alice password")
    }

    var alice: Principal { get throws { try harness.principal(aliceToken) } }
    var tenants: TenantService { harness.tenants }

    /// Invites `email` into Alice's tenant as `role`; answers the invite token.
    func invite(_ email: String, role: String, by principal: Principal? = nil) async throws -> String {
        let results = try await tenants.invite(try principal ?? alice, [.init(email: email, role: role)])
        try #require(results.count == 1)
        try #require(results[0].status == "SC_OK", "\(results[0])")
        return try Harness.inviteToken(from: results[0].invitedURL)
    }

    /// Invites a new user and has them accept; answers their session token.
    func join(_ email: String, role: String, password: String = "member password") async throws -> String {
        let token = try await invite(email, role: role)
        return try await tenants.acceptInvite(.init(email: email, password: password, tenantId: "", inviteToken: token, fromLink: "", country: ""), client: "c")
    }
}

private func acceptance(_ token: String, email: String = "", password: String = "member password", tenantId: String = "") -> TenantService.Acceptance {
    .init(email: email, password: password, tenantId: tenantId, inviteToken: token, fromLink: "https://ref.example", country: "DE")
}

@Suite("TenantService")
struct TenantServiceTests {
    // MARK: invite

    @Test("invite answers one result per address")
    func inviteResults() async throws {
        let team = try await Team()
        let results = try await team.tenants.invite(
            try team.alice,
            [
                .init(email: "Bob@Example.com", role: "member"),
                .init(email: "not-an-email", role: "member"),
                .init(email: "alice@example.com", role: "admin"),
                .init(email: "carol@example.com", role: "boss"),
                .init(email: "dave@example.com", role: ""),
                .init(email: "erin@example.com", role: " Owner "),
            ])
        #expect(results.map(\.status) == ["SC_OK", "SC_INVALID_ARGUMENT", "SC_ALREADY_EXISTS", "SC_INVALID_ARGUMENT", "SC_OK", "SC_OK"])
        #expect(results[0].email == "bob@example.com")
        #expect(results[0].message == "")
        #expect(results[0].invitedURL.hasPrefix("https://tenantry.test/invite?token=tni_"))
        #expect(results[1].email == "not-an-email")
        #expect(results[1].invitedURL == "")
        #expect(!results[1].message.isEmpty)
        #expect(results[2].message == "alice@example.com is already a member")
        // Each accepted address has its own link.
        #expect(Set(results.filter { $0.status == "SC_OK" }.map(\.invitedURL)).count == 3)
        // Members first, then pending invitations as INVITED, with their roles.
        let members = try team.tenants.members(try team.alice)
        #expect(members.first?.email == "alice@example.com")
        #expect(members.first?.status == "ACTIVE")
        let invited = Dictionary(uniqueKeysWithValues: members.dropFirst().map { ($0.email, $0) })
        #expect(Set(invited.keys) == ["bob@example.com", "dave@example.com", "erin@example.com"])
        #expect(invited.values.allSatisfy { $0.status == "INVITED" && $0.name == "" })
        #expect(invited["bob@example.com"]?.role == .member)
        #expect(invited["dave@example.com"]?.role == .member)
        #expect(invited["erin@example.com"]?.role == .owner)
    }

    @Test("the invitation email carries the link while it is valid; the outbox stores no token")
    func inviteEmail() async throws {
        let team = try await Team()
        let results = try await team.tenants.invite(try team.alice, [.init(email: "bob@example.com", role: "admin")])
        let url = results[0].invitedURL
        let mail = try #require(try team.harness.mails(to: "bob@example.com").first)
        #expect(mail.email.subject == "alice invited you to alice's workspace on Tenantry")
        #expect(mail.body.contains("join alice's workspace as admin"))
        #expect(mail.body.contains(url))
        #expect(mail.body.contains("expires in 7 days"))
        let token = try Harness.inviteToken(from: url)
        let stored = try team.harness.database.read { try String.fetchAll($0, sql: "SELECT body FROM outbox WHERE recipient = 'bob@example.com'") }
        #expect(stored.count == 1 && !stored[0].contains(token))
        #expect(try team.harness.count("SELECT count(*) FROM invite WHERE token_hash = ?", [Secrets.sha256(token)]) == 1)
        team.harness.clock.advance(seconds: 7 * 86_400)
        #expect(try team.harness.mails(to: "bob@example.com").first?.body.contains("[expired]") == true)
    }

    @Test("an admin may invite admins and members, not owners; a member may not invite")
    func inviteRoles() async throws {
        let team = try await Team()
        let adminToken = try await team.join("admin@example.com", role: "admin")
        let admin = try team.harness.principal(adminToken)
        #expect(admin.role == .admin)
        #expect(admin.tenantId == (try team.alice).tenantId)
        let results = try await team.tenants.invite(
            admin,
            [
                .init(email: "o@example.com", role: "owner"),
                .init(email: "a@example.com", role: "admin"),
                .init(email: "m@example.com", role: "member"),
            ])
        #expect(results.map(\.status) == ["SC_PERMISSION_DENIED", "SC_OK", "SC_OK"])

        let member = try team.harness.principal(try await team.join("member@example.com", role: "member"))
        await expectDomainError(.permissionDenied("")) {
            try await team.tenants.invite(member, [.init(email: "x@example.com", role: "member")])
        }
    }

    @Test("invite refuses an empty list and more than 50 addresses")
    func inviteListSize() async throws {
        let team = try await Team()
        await expectDomainError(.invalidArgument("")) { try await team.tenants.invite(try team.alice, []) }
        let many = (0..<51).map { TenantService.InviteRequest(email: "u\($0)@example.com", role: "member") }
        await expectDomainError(.invalidArgument("")) { try await team.tenants.invite(try team.alice, many) }
        let fifty = try await team.tenants.invite(try team.alice, Array(many.prefix(50)))
        #expect(fifty.count == 50)
        #expect(fifty.map(\.email) == many.prefix(50).map(\.email))
        #expect(fifty.allSatisfy { $0.status == "SC_OK" || $0.status == "SC_RESOURCE_EXHAUSTED" })
    }

    @Test("invitations stop at the plan's team size, counting members and pending invites")
    func teamLimit() async throws {
        let team = try await Team()
        let tenantId = try #require(try team.alice.tenantId)
        let limit = try team.harness.database.read { try Subscriptions.teamMemberLimit($0, tenantId: tenantId) }
        let requests = (0..<10).map { TenantService.InviteRequest(email: "u\($0)@example.com", role: "member") }
        let results = try await team.tenants.invite(try team.alice, requests)
        let accepted = results.filter { $0.status == "SC_OK" }.count
        if let limit {
            // Alice takes one seat; each pending invitation takes one.
            #expect(accepted == min(10, limit - 1))
            #expect(results.dropFirst(accepted).allSatisfy { $0.status == "SC_RESOURCE_EXHAUSTED" && $0.invitedURL == "" })
            #expect(try team.harness.count("SELECT count(*) FROM invite WHERE revoked_at IS NULL") == accepted)
            #expect(try team.harness.mails(to: "u9@example.com").isEmpty == (accepted < 10))
        } else {
            #expect(accepted == 10)
        }
        // Re-inviting a pending address replaces its seat rather than taking another.
        let again = try await team.tenants.invite(try team.alice, [requests[0]])
        #expect(again.map(\.status) == ["SC_OK"])
    }

    @Test("inviting an address again replaces its earlier link")
    func reinviteReplacesLink() async throws {
        let team = try await Team()
        let first = try await team.invite("bob@example.com", role: "member")
        let second = try await team.invite("bob@example.com", role: "admin")
        await expectDomainError(.notFound("")) { try team.tenants.checkInvite(token: first) }
        await expectDomainError(.notFound("")) { try await team.tenants.acceptInvite(acceptance(first), client: "c") }
        let token = try await team.tenants.acceptInvite(acceptance(second), client: "c")
        #expect(try team.harness.principal(token).role == .admin)
        #expect(try team.tenants.members(try team.alice).filter { $0.status == "INVITED" }.isEmpty)
    }

    @Test("a re-invite refused for the team size leaves the earlier invitation in place")
    func refusedReinviteKeepsEarlierLink() async throws {
        let team = try await Team()
        let alice = try team.alice
        let tenantId = try #require(alice.tenantId)
        let limit = try #require(try team.harness.database.read { try Subscriptions.teamMemberLimit($0, tenantId: tenantId) }, "the starting plan has no team limit")
        // The tenant holds more pending invitations than its plan now allows (as after a
        // downgrade): one more than the free seats.
        let now = team.harness.clock.now()
        let tokens = try await team.harness.database.write { db -> [String] in
            try (0..<limit).map { index in
                let token = Secrets.token(Invite.tokenPrefix)
                try Invite(
                    id: Secrets.identifier("inv"), tenantId: tenantId, email: "u\(index)@example.com", role: .member, tokenHash: Secrets.sha256(token),
                    invitedBy: alice.user.id, createdAt: now, expiresAt: now.adding(days: 7), acceptedAt: nil, revokedAt: nil
                ).insert(db)
                return token
            }
        }
        let results = try await team.tenants.invite(alice, [.init(email: "u0@example.com", role: "member")])
        #expect(results.map(\.status) == ["SC_RESOURCE_EXHAUSTED"])
        #expect(results.first?.invitedURL == "")
        // Refused means nothing changed: u0's first link must still work.
        let pending = try team.harness.count("SELECT count(*) FROM invite WHERE email = 'u0@example.com' AND revoked_at IS NULL")
        #expect(pending == 1)
        #expect(throws: Never.self) { try team.tenants.checkInvite(token: tokens[0]) }
        // The other invitations are untouched.
        #expect(try team.tenants.checkInvite(token: tokens[1]).email == "u1@example.com")
    }

    // MARK: accept

    @Test("a new user accepting an invite becomes an ACTIVE member with the invited role")
    func acceptAsNewUser() async throws {
        let team = try await Team()
        let token = try await team.invite("bob@example.com", role: "admin")
        let details = try team.tenants.checkInvite(token: token)
        #expect(details.email == "bob@example.com")
        #expect(details.tenantId == (try team.alice).tenantId)

        let session = try await team.tenants.acceptInvite(acceptance(token, email: "BOB@example.com", tenantId: details.tenantId), client: "c")
        let bob = try team.harness.principal(session)
        #expect(bob.user.email == "bob@example.com")
        #expect(bob.user.status == .active)
        #expect(bob.user.fromLink == "https://ref.example")
        #expect(bob.user.country == "DE")
        #expect(bob.tenantId == details.tenantId)
        #expect(bob.role == .admin)
        // No personal workspace: the invited tenant is Bob's only one.
        #expect(try team.tenants.list(bob, page: 1, limit: 10).total == 1)
        _ = try await team.harness.accounts.sessionLogin(email: "bob@example.com", password: "member password", client: "c")
        let members = try team.tenants.members(try team.alice)
        #expect(members.map(\.email) == ["alice@example.com", "bob@example.com"])
        #expect(members.map(\.status) == ["ACTIVE", "ACTIVE"])
    }

    @Test("a new user must choose a valid password")
    func acceptAsNewUserValidatesPassword() async throws {
        let team = try await Team()
        let token = try await team.invite("bob@example.com", role: "member")
        await expectDomainError(.invalidArgument("")) { try await team.tenants.acceptInvite(acceptance(token, password: "short"), client: "c") }
        // The invite is still usable.
        _ = try await team.tenants.acceptInvite(acceptance(token), client: "c")
    }

    @Test("an existing user accepts with their own password")
    func acceptAsExistingUser() async throws {
        let team = try await Team()
        let bobToken = try await team.harness.activeUser("bob@example.com", password: "bob password")
        let token = try await team.invite("bob@example.com", role: "member")
        await expectDomainError(.unauthenticated("")) {
            try await team.tenants.acceptInvite(acceptance(token, password: "not bobs password"), client: "c")
        }
        let session = try await team.tenants.acceptInvite(acceptance(token, password: "bob password"), client: "c")
        let bob = try team.harness.principal(session)
        // The new session opens in the tenant Bob just joined.
        #expect(bob.tenantId == (try team.alice).tenantId)
        #expect(bob.role == .member)
        #expect(try team.tenants.list(bob, page: 1, limit: 10).total == 2)
        // His password did not change, and his first session is still open.
        _ = try team.harness.principal(bobToken)
        _ = try await team.harness.accounts.sessionLogin(email: "bob@example.com", password: "bob password", client: "c")
    }

    @Test("an invitation is for its address and its tenant only")
    func acceptChecksAddressAndTenant() async throws {
        let team = try await Team()
        let token = try await team.invite("bob@example.com", role: "member")
        await expectDomainError(.permissionDenied("")) {
            try await team.tenants.acceptInvite(acceptance(token, email: "mallory@example.com"), client: "c")
        }
        await expectDomainError(.invalidArgument("")) {
            try await team.tenants.acceptInvite(acceptance(token, tenantId: "tnt_other"), client: "c")
        }
        await expectDomainError(.invalidArgument("")) { try await team.tenants.acceptInvite(acceptance(""), client: "c") }
        await expectDomainError(.notFound("")) { try await team.tenants.acceptInvite(acceptance("tni_unknown"), client: "c") }
        await expectDomainError(.invalidArgument("")) { try team.tenants.checkInvite(token: "") }
        _ = try await team.tenants.acceptInvite(acceptance(token), client: "c")
    }

    @Test("an invite token works once")
    func inviteSingleUse() async throws {
        let team = try await Team()
        let token = try await team.invite("bob@example.com", role: "member")
        _ = try await team.tenants.acceptInvite(acceptance(token), client: "c")
        await expectDomainError(.notFound("")) { try team.tenants.checkInvite(token: token) }
        await expectDomainError(.notFound("")) { try await team.tenants.acceptInvite(acceptance(token), client: "c") }
        #expect(try team.harness.count("SELECT count(*) FROM membership") == 2)
    }

    @Test("an invite expires after 7 days")
    func inviteExpires() async throws {
        let team = try await Team()
        let early = try await team.invite("early@example.com", role: "member")
        let late = try await team.invite("late@example.com", role: "member")
        team.harness.clock.advance(seconds: 7 * 86_400 - 1)
        _ = try await team.tenants.acceptInvite(acceptance(early), client: "c")
        team.harness.clock.advance(seconds: 1)
        await expectDomainError(.notFound("")) { try team.tenants.checkInvite(token: late) }
        await expectDomainError(.notFound("")) { try await team.tenants.acceptInvite(acceptance(late), client: "c") }
        #expect(try team.harness.user("late@example.com") == nil)
        // An expired invitation no longer shows as pending (Alice's session idled out meanwhile).
        let alice = try team.harness.principal(try await team.harness.accounts.sessionLogin(email: "alice@example.com", password: "alice password", client: "c"))
        #expect(try team.tenants.members(alice).map(\.email) == ["alice@example.com", "early@example.com"])
    }

    // MARK: remove and re-role

    @Test("removing a member ends their membership; removing a pending invite withdraws it")
    func removeMember() async throws {
        let team = try await Team()
        let bobToken = try await team.join("bob@example.com", role: "member")
        let pending = try await team.invite("carol@example.com", role: "member")
        try await team.tenants.removeMember(try team.alice, email: "BOB@example.com")
        let bob = try team.harness.principal(bobToken)
        #expect(bob.tenantId == nil)
        #expect(bob.role == nil)
        try await team.tenants.removeMember(try team.alice, email: "carol@example.com")
        await expectDomainError(.notFound("")) { try team.tenants.checkInvite(token: pending) }
        await expectDomainError(.notFound("")) { try await team.tenants.removeMember(try team.alice, email: "carol@example.com") }
        await expectDomainError(.notFound("")) { try await team.tenants.removeMember(try team.alice, email: "nobody@example.com") }
        #expect(try team.tenants.members(try team.alice).map(\.email) == ["alice@example.com"])
    }

    @Test("a tenant never loses its last owner")
    func lastOwnerKept() async throws {
        let team = try await Team()
        _ = try await team.join("bob@example.com", role: "member")
        let alone = await expectDomainError(.invalidArgument("")) { try await team.tenants.removeMember(try team.alice, email: "alice@example.com") }
        #expect(alone?.message.contains("at least one owner") == true)
        await expectDomainError(.invalidArgument("")) { try await team.tenants.changeRole(try team.alice, email: "alice@example.com", role: "admin") }
        #expect(try team.alice.role == .owner)

        // With a second owner, Alice may step down, and then be removed by that owner.
        try await team.tenants.changeRole(try team.alice, email: "bob@example.com", role: "owner")
        try await team.tenants.changeRole(try team.alice, email: "alice@example.com", role: "member")
        #expect(try team.alice.role == .member)
        let bob = try team.harness.principal(try await team.harness.accounts.sessionLogin(email: "bob@example.com", password: "member password", client: "c"))
        #expect(bob.role == .owner)
        await expectDomainError(.invalidArgument("")) { try await team.tenants.changeRole(bob, email: "bob@example.com", role: "admin") }
        try await team.tenants.removeMember(bob, email: "alice@example.com")
        let owners = try team.harness.count("SELECT count(*) FROM membership WHERE role = 'owner'")
        #expect(owners == 1)
    }

    @Test("admins cannot remove, make or unmake owners")
    func adminLimits() async throws {
        let team = try await Team()
        let admin = try team.harness.principal(try await team.join("admin@example.com", role: "admin"))
        _ = try await team.join("member@example.com", role: "member")
        await expectDomainError(.permissionDenied("")) { try await team.tenants.removeMember(admin, email: "alice@example.com") }
        await expectDomainError(.permissionDenied("")) { try await team.tenants.changeRole(admin, email: "alice@example.com", role: "member") }
        await expectDomainError(.permissionDenied("")) { try await team.tenants.changeRole(admin, email: "member@example.com", role: "owner") }
        // But they manage members and admins.
        try await team.tenants.changeRole(admin, email: "member@example.com", role: "admin")
        try await team.tenants.changeRole(admin, email: "member@example.com", role: "member")
        try await team.tenants.removeMember(admin, email: "member@example.com")
        #expect(Set(try team.tenants.members(try team.alice).map(\.email)) == ["alice@example.com", "admin@example.com"])
        // A member can do neither.
        let member = try team.harness.principal(try await team.join("m2@example.com", role: "member"))
        await expectDomainError(.permissionDenied("")) { try await team.tenants.removeMember(member, email: "admin@example.com") }
        await expectDomainError(.permissionDenied("")) { try await team.tenants.changeRole(member, email: "m2@example.com", role: "admin") }
    }

    @Test("changeRole checks its arguments")
    func changeRoleValidates() async throws {
        let team = try await Team()
        _ = try await team.join("bob@example.com", role: "member")
        await expectDomainError(.invalidArgument("")) { try await team.tenants.changeRole(try team.alice, email: "bob@example.com", role: "boss") }
        await expectDomainError(.notFound("")) { try await team.tenants.changeRole(try team.alice, email: "nobody@example.com", role: "admin") }
        await expectDomainError(.invalidArgument("")) { try await team.tenants.changeRole(try team.alice, email: "bad", role: "admin") }
        // The same role again is a no-op.
        try await team.tenants.changeRole(try team.alice, email: "bob@example.com", role: "member")
        try await team.tenants.changeRole(try team.alice, email: "bob@example.com", role: "ADMIN")
        #expect(try team.tenants.members(try team.alice).first { $0.email == "bob@example.com" }?.role == .admin)
    }

    // MARK: switch and list

    @Test("switchTenant only to a tenant the user belongs to")
    func switchTenant() async throws {
        let team = try await Team()
        let bobToken = try await team.harness.activeUser("bob@example.com", password: "bob password")
        let bob = try team.harness.principal(bobToken)
        let aliceTenant = try #require(try team.alice.tenantId)
        await expectDomainError(.notFound("")) { try await team.tenants.switchTenant(bob, to: aliceTenant) }
        await expectDomainError(.invalidArgument("")) { try await team.tenants.switchTenant(bob, to: "") }
        #expect(try team.harness.principal(bobToken).tenantId == bob.tenantId)

        let token = try await team.invite("bob@example.com", role: "admin")
        _ = try await team.tenants.acceptInvite(acceptance(token, password: "bob password"), client: "c")
        let view = try await team.tenants.switchTenant(bob, to: aliceTenant)
        #expect(view.id == aliceTenant)
        #expect(view.name == "alice's workspace")
        #expect(view.role == .admin)
        #expect(view.isCurrent)
        let switched = try team.harness.principal(bobToken)
        #expect(switched.tenantId == aliceTenant)
        #expect(switched.role == .admin)
        #expect(try team.tenants.current(switched).id == aliceTenant)
        let listed = try team.tenants.list(switched, page: 1, limit: 10).items
        #expect(listed.filter(\.isCurrent).map(\.id) == [aliceTenant])
    }

    @Test("list pages through the user's tenants in the order they joined")
    func listPaging() async throws {
        let harness = try Harness()
        let userToken = try await harness.activeUser("user@example.com", password: "user password")
        var expected = ["user's workspace"]
        for index in 1...4 {
            harness.clock.advance(seconds: 1)
            let ownerToken = try await harness.registerVerified("owner\(index)@example.com")
            let results = try await harness.tenants.invite(try harness.principal(ownerToken), [.init(email: "user@example.com", role: "member")])
            harness.clock.advance(seconds: 1)
            _ = try await harness.tenants.acceptInvite(acceptance(try Harness.inviteToken(from: results[0].invitedURL), password: "user password"), client: "c")
            expected.append("owner\(index)'s workspace")
        }
        let user = try harness.principal(userToken)

        let first = try harness.tenants.list(user, page: 1, limit: 2)
        #expect(first.items.map(\.name) == Array(expected[0..<2]))
        #expect(first.page == 1 && first.limit == 2 && first.total == 5)
        #expect(first.hasMore)
        #expect(first.items.map(\.role) == [.owner, .member])
        let second = try harness.tenants.list(user, page: 2, limit: 2)
        #expect(second.items.map(\.name) == Array(expected[2..<4]))
        #expect(second.hasMore)
        let third = try harness.tenants.list(user, page: 3, limit: 2)
        #expect(third.items.map(\.name) == [expected[4]])
        #expect(third.total == 5)
        #expect(!third.hasMore)
        let beyond = try harness.tenants.list(user, page: 4, limit: 2)
        #expect(beyond.items.isEmpty && !beyond.hasMore && beyond.total == 5)
        let all = try harness.tenants.list(user, page: 1, limit: 100)
        #expect(all.items.map(\.name) == expected)
        #expect(!all.hasMore)
        let exact = try harness.tenants.list(user, page: 1, limit: 5)
        #expect(exact.items.count == 5 && !exact.hasMore)

        for (page, limit) in [(0, 10), (-1, 10), (1, 0), (1, 101)] {
            await expectDomainError(.invalidArgument("")) { try harness.tenants.list(user, page: page, limit: limit) }
        }
    }

    @Test("without a tenant, tenant-scoped calls answer notFound")
    func noTenant() async throws {
        let team = try await Team()
        let bobToken = try await team.join("bob@example.com", role: "member")
        try await team.tenants.removeMember(try team.alice, email: "bob@example.com")
        let bob = try team.harness.principal(bobToken)
        await expectDomainError(.notFound("")) { try team.tenants.current(bob) }
        await expectDomainError(.notFound("")) { try team.tenants.members(bob) }
        await expectDomainError(.notFound("")) { try await team.tenants.invite(bob, [.init(email: "x@example.com", role: "member")]) }
        #expect(try team.tenants.list(bob, page: 1, limit: 10).total == 0)
    }

    @Test("roles are ordered owner > admin > member and parse leniently")
    func roles() throws {
        #expect(Role.owner > Role.admin)
        #expect(Role.admin > Role.member)
        #expect(Role.allCases.sorted() == [.member, .admin, .owner])
        #expect(try Role.parse(" Admin ") == .admin)
        #expect(throws: DomainError.self) { try Role.parse("root") }
        #expect(DomainError.resourceExhausted("x").statusName == "SC_RESOURCE_EXHAUSTED")
        #expect(DomainError.internalError("secret detail").message == "internal error")
        #expect(DomainError.notFound("gone").message == "gone")
    }
}
