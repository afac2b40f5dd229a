import Foundation
import GRDB
import Testing

@testable import TenantryCore

@Suite("AccountService: the user's own account")
struct ProfileTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46]
    static let webp: [UInt8] = Array("RIFF".utf8) + [0x24, 0, 0, 0] + Array("WEBPVP8 ".utf8)

    // MARK: initialize

    @Test("initialize sets the first password once, and swaps the session")
    func initializeOnce() async throws {
        let harness = try Harness()
        let token = try await harness.registerVerified("alice@example.com")
        let principal = try harness.principal(token)
        let fresh = try await harness.accounts.initialize(principal, password: "first password", timezone: " Europe/Paris ", client: "c")
        #expect(fresh.hasPrefix("tns_"))
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
        let active = try harness.principal(fresh)
        #expect(active.user.status == .active)
        #expect(active.user.timezone == "Europe/Paris")
        #expect(active.tenantId == principal.tenantId)
        #expect(active.user.passwordHash?.hasPrefix("$argon2id$") == true)
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "first password", client: "c")

        // Only once: neither with the new session nor with the stale principal of the old one.
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.initialize(active, password: "second password", timezone: "", client: "c")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.initialize(principal, password: "second password", timezone: "", client: "c")
        }
        await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "second password", client: "c")
        }
    }

    @Test("initialize checks the password policy and the time zone")
    func initializeValidates() async throws {
        let harness = try Harness()
        let principal = try harness.principal(try await harness.registerVerified("alice@example.com"))
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.initialize(principal, password: "short", timezone: "", client: "c")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.initialize(principal, password: "long enough", timezone: "Mars/Olympus_Mons", client: "c")
        }
        #expect(try harness.user("alice@example.com")?.status == .uninitialized)
        _ = try await harness.accounts.initialize(principal, password: "long enough", timezone: "", client: "c")
    }

    // MARK: name

    @Test("updateName trims and checks the name")
    func updateName() async throws {
        let harness = try Harness()
        let principal = try harness.principal(try await harness.activeUser("alice@example.com"))
        try await harness.accounts.updateName(principal, name: "  Alice Liddell \n")
        #expect(try harness.user("alice@example.com")?.name == "Alice Liddell")
        try await harness.accounts.updateName(principal, name: String(repeating: "é", count: 100))
        for bad in ["", "   ", String(repeating: "a", count: 101), "Alice\u{0007}Bell", "line\u{0000}break"] {
            await expectDomainError(.invalidArgument("")) { try await harness.accounts.updateName(principal, name: bad) }
        }
        #expect(try harness.user("alice@example.com")?.name == String(repeating: "é", count: 100))
    }

    // MARK: password

    @Test("updatePassword ends the other sessions, not the current one")
    func updatePassword() async throws {
        let harness = try Harness()
        let current = try await harness.activeUser("alice@example.com", password: "old password")
        let other = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "phone")
        let principal = try harness.principal(current)
        try await harness.accounts.updatePassword(principal, old: "old password", new: "new password", client: "c")
        _ = try harness.principal(current)
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: other) }
        await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "c")
        }
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "new password", client: "c")
        #expect(try harness.mails(to: "alice@example.com").first?.email.subject == "Your Tenantry password was changed")
    }

    @Test("updatePassword needs the right old password and a valid new one")
    func updatePasswordValidates() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com", password: "old password")
        let principal = try harness.principal(token)
        let wrong = await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.updatePassword(principal, old: "not my password", new: "new password", client: "c")
        }
        #expect(wrong?.message == "old_password is incorrect")
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.updatePassword(principal, old: "", new: "new password", client: "c")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.updatePassword(principal, old: "old password", new: "short", client: "c")
        }
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "c")
        // Guessing the old password is throttled like logins.
        for _ in 0..<5 {
            _ = try? await harness.accounts.updatePassword(principal, old: "guess", new: "new password", client: "c")
        }
        await expectDomainError(.resourceExhausted("")) {
            try await harness.accounts.updatePassword(principal, old: "old password", new: "new password", client: "c")
        }
    }

    // MARK: avatar

    @Test(
        "updateAvatar accepts PNG, JPEG and WebP by their content",
        arguments: [
            (ProfileTests.png, "image/png"), (ProfileTests.jpeg, "image/jpeg"), (ProfileTests.webp, "image/webp"),
        ])
    func avatarAccepted(bytes: [UInt8], contentType: String) async throws {
        let harness = try Harness()
        let principal = try harness.principal(try await harness.activeUser("alice@example.com"))
        let file = bytes + Array(repeating: 7, count: 100)
        let path = try await harness.accounts.updateAvatar(principal, file: file)
        #expect(path.hasPrefix("https://tenantry.test/v1/avatars/avt_"), "absolute, from the public URL")
        let id = String(path.dropFirst("https://tenantry.test/v1/avatars/".count))
        let avatar = try #require(try harness.accounts.avatar(id: id))
        #expect(avatar.contentType == contentType)
        #expect(avatar.data == Data(file))
        #expect(avatar.userId == principal.user.id)
        #expect(try harness.user("alice@example.com")?.avatarId == id)
        #expect(try harness.accounts.avatar(id: "avt_missing") == nil)
    }

    @Test("a new avatar replaces the old one")
    func avatarReplaced() async throws {
        let harness = try Harness()
        let principal = try harness.principal(try await harness.activeUser("alice@example.com"))
        let first = try await harness.accounts.updateAvatar(principal, file: Self.png)
        let second = try await harness.accounts.updateAvatar(principal, file: Self.jpeg)
        #expect(first != second)
        #expect(try harness.count("SELECT count(*) FROM avatar") == 1)
        #expect(try harness.accounts.avatar(id: String(first.dropFirst("https://tenantry.test/v1/avatars/".count))) == nil)
    }

    @Test(
        "updateAvatar refuses other content, empty and oversized files",
        arguments: [
            Array("GIF89a".utf8) + [0, 0],
            Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8),
            [0x89, 0x50, 0x4E, 0x47],  // a truncated PNG signature
            Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8),
            Array("RIFFWEBP".utf8),  // too short to be WebP
            [],
            ProfileTests.png + Array(repeating: 0, count: (1 << 20) + 1 - ProfileTests.png.count),  // 1 MiB + 1 byte
        ] as [[UInt8]])
    func avatarRefused(file: [UInt8]) async throws {
        let harness = try Harness()
        let principal = try harness.principal(try await harness.activeUser("alice@example.com"))
        await expectDomainError(.invalidArgument("")) { try await harness.accounts.updateAvatar(principal, file: file) }
        #expect(try harness.count("SELECT count(*) FROM avatar") == 0)
        #expect(try harness.user("alice@example.com")?.avatarId == nil)
    }

    @Test("an avatar of exactly 1 MiB is accepted")
    func avatarAtLimit() async throws {
        let harness = try Harness()
        let principal = try harness.principal(try await harness.activeUser("alice@example.com"))
        let file = Self.png + Array(repeating: 0, count: (1 << 20) - Self.png.count)
        _ = try await harness.accounts.updateAvatar(principal, file: file)
        #expect(try harness.count("SELECT length(data) FROM avatar") == 1 << 20)
    }

    // MARK: delete

    @Test("deleting a user deletes their sessions and the tenants only they belong to")
    func deleteSoleMember() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        let principal = try harness.principal(token)
        _ = try await harness.accounts.updateAvatar(principal, file: Self.png)
        try await harness.accounts.deleteUser(principal)
        #expect(try harness.user("alice@example.com") == nil)
        #expect(try harness.count("SELECT count(*) FROM tenant") == 0)
        #expect(try harness.count("SELECT count(*) FROM membership") == 0)
        #expect(try harness.count("SELECT count(*) FROM session") == 0)
        #expect(try harness.count("SELECT count(*) FROM avatar") == 0)
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
        #expect(try harness.database.integrityProblems().isEmpty)
    }

    @Test("the last owner of a tenant with other members cannot delete themselves")
    func deleteLastOwnerRefused() async throws {
        let harness = try Harness()
        let aliceToken = try await harness.activeUser("alice@example.com")
        let alice = try harness.principal(aliceToken)
        let results = try await harness.tenants.invite(alice, [.init(email: "bob@example.com", role: "admin")])
        _ = try await harness.tenants.acceptInvite(
            .init(email: "", password: "bob password", tenantId: "", inviteToken: try Harness.inviteToken(from: results[0].invitedURL), fromLink: "", country: ""),
            client: "c"
        )
        let error = await expectDomainError(.invalidArgument("")) { try await harness.accounts.deleteUser(alice) }
        #expect(error?.message.contains("alice's workspace") == true)
        #expect(try harness.user("alice@example.com") != nil)
        #expect(try harness.count("SELECT count(*) FROM membership") == 2)

        // Once Bob is an owner too, Alice may go; the tenant stays with Bob.
        try await harness.tenants.changeRole(alice, email: "bob@example.com", role: "owner")
        try await harness.accounts.deleteUser(try harness.principal(aliceToken))
        #expect(try harness.user("alice@example.com") == nil)
        #expect(try harness.count("SELECT count(*) FROM tenant") == 1)
        let remaining = try harness.database.read { try Membership.fetchAll($0) }
        #expect(remaining.count == 1)
        #expect(remaining.first?.role == .owner)
        #expect(remaining.first?.userId == (try harness.user("bob@example.com"))?.id)
    }

    @Test("a member of other tenants can delete themselves; those tenants remain")
    func deleteMember() async throws {
        let harness = try Harness()
        let alice = try harness.principal(try await harness.activeUser("alice@example.com"))
        let bobToken = try await harness.activeUser("bob@example.com", password: "bob password")
        let results = try await harness.tenants.invite(alice, [.init(email: "bob@example.com", role: "member")])
        _ = try await harness.tenants.acceptInvite(
            .init(email: "bob@example.com", password: "bob password", tenantId: alice.tenantId ?? "", inviteToken: try Harness.inviteToken(from: results[0].invitedURL), fromLink: "", country: ""),
            client: "c"
        )
        #expect(try harness.count("SELECT count(*) FROM tenant") == 2)
        try await harness.accounts.deleteUser(try harness.principal(bobToken))
        #expect(try harness.user("bob@example.com") == nil)
        // Bob's own workspace went with him; Alice's stays, with Alice alone.
        #expect(try harness.count("SELECT count(*) FROM tenant") == 1)
        #expect(
            try harness.tenants.members(try harness.principal(try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c"))).map(\.email) == [
                "alice@example.com"
            ])
    }

    // MARK: operators

    @Test("createOperator creates an active operator, or promotes an existing user")
    func createOperator() async throws {
        let harness = try Harness()
        #expect(try harness.accounts.hasOperator() == false)
        let created = try await harness.accounts.createOperator(email: "Root@Example.com", password: "operator password")
        #expect(created.promoted == false)
        #expect(created.user.isOperator)
        #expect(created.user.status == .active)
        #expect(created.user.email == "root@example.com")
        #expect(try harness.accounts.hasOperator())
        let token = try await harness.accounts.sessionLogin(email: "root@example.com", password: "operator password", client: "c")
        let principal = try harness.principal(token)
        #expect(principal.isOperator)
        // Operators are not tenant members by virtue of being operators.
        #expect(principal.tenantId == nil)
        await expectDomainError(.notFound("")) { try principal.tenant(atLeast: .member) }
        await expectDomainError(.alreadyExists("")) {
            try await harness.accounts.createOperator(email: "root@example.com", password: "operator password")
        }

        // An existing (uninitialized) user is promoted, with the given password.
        _ = try await harness.registerVerified("bob@example.com")
        let promoted = try await harness.accounts.createOperator(email: "bob@example.com", password: "bob operator pw")
        #expect(promoted.promoted)
        #expect(promoted.user.isOperator)
        #expect(promoted.user.status == .active)
        _ = try await harness.accounts.sessionLogin(email: "bob@example.com", password: "bob operator pw", client: "c")

        await expectDomainError(.invalidArgument("")) { try await harness.accounts.createOperator(email: "x@example.com", password: "short") }
        await expectDomainError(.invalidArgument("")) { try await harness.accounts.createOperator(email: "nope", password: "long enough") }
    }

    @Test("setOperatorPassword changes an operator's password and ends their sessions")
    func setOperatorPassword() async throws {
        let harness = try Harness()
        _ = try await harness.accounts.createOperator(email: "root@example.com", password: "operator password")
        let token = try await harness.accounts.sessionLogin(email: "root@example.com", password: "operator password", client: "c")
        try await harness.accounts.setOperatorPassword(email: "root@example.com", password: "another password")
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
        _ = try await harness.accounts.sessionLogin(email: "root@example.com", password: "another password", client: "c")
        // Not for users who are not operators.
        _ = try await harness.activeUser("alice@example.com")
        await expectDomainError(.notFound("")) {
            try await harness.accounts.setOperatorPassword(email: "alice@example.com", password: "another password")
        }
        await expectDomainError(.notFound("")) {
            try await harness.accounts.setOperatorPassword(email: "ghost@example.com", password: "another password")
        }
    }
}
