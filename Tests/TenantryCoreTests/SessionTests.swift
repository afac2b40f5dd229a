import Foundation
import GRDB
import Testing

@testable import TenantryCore

@Suite("AccountService: login and sessions")
struct SessionTests {
    private static let day: Int64 = 86_400

    @Test("login with the right password opens a session in the user's tenant")
    func loginSucceeds() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com", password: "correct horse")
        let token = try await harness.accounts.sessionLogin(email: " ALICE@example.com", password: "correct horse", client: "1.2.3.4")
        #expect(token.hasPrefix("tns_"))
        let principal = try harness.principal(token)
        #expect(principal.user.email == "alice@example.com")
        #expect(principal.user.status == .active)
        #expect(principal.role == .owner)
        #expect(principal.tenantId != nil)
        let stored = try #require(try harness.database.read { try Session.fetchOne($0, key: principal.sessionId) })
        #expect(stored.clientAddress == "1.2.3.4")
        #expect(stored.tokenHash == Secrets.sha256(token))
        #expect(stored.expiresAt == harness.clock.now().adding(days: 30))
    }

    @Test("wrong password, unknown email, or no password yet: unauthenticated")
    func loginFailures() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com", password: "correct horse")
        _ = try await harness.registerVerified("nopassword@example.com")
        let wrong = await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "wrong horse", client: "c1")
        }
        #expect(wrong == .unauthenticated("invalid email or password"))
        // The same answer for an address without an account…
        let unknown = await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "nobody@example.com", password: "correct horse", client: "c2")
        }
        #expect(unknown == wrong)
        // …and for an account that has no password yet.
        await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "nopassword@example.com", password: "anything at all", client: "c3")
        }
        await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: String(repeating: "x", count: 129), client: "c4")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "", client: "c5")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.sessionLogin(email: "not an email", password: "correct horse", client: "c6")
        }
    }

    @Test("a disabled account cannot log in, and its sessions stop working")
    func disabledAccount() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com", password: "correct horse")
        try await harness.database.write { try $0.execute(sql: "UPDATE user SET status = 'DISABLED' WHERE email = 'alice@example.com'") }
        await expectDomainError(.permissionDenied("")) { try harness.accounts.authenticate(token: token) }
        await expectDomainError(.permissionDenied("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c")
        }
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.refresh(token: token, client: "c") }
    }

    @Test("5 failed logins from one client lock that account there, until the window ends")
    func loginThrottle() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com", password: "correct horse")
        for _ in 0..<5 {
            await expectDomainError(.unauthenticated("")) {
                try await harness.accounts.sessionLogin(email: "alice@example.com", password: "wrong horse", client: "attacker")
            }
        }
        // Even the right password is refused from there now.
        let error = await expectDomainError(.resourceExhausted("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "attacker")
        }
        guard case .resourceExhausted(_, let wait)? = error else { return }
        #expect((wait ?? 0) > 0)
        // Alice, from her own address, is not locked out.
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "home")
        harness.clock.advance(seconds: Int64(wait ?? 0))
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "attacker")
    }

    @Test("a successful login clears the failures of its client")
    func successClearsFailures() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com", password: "correct horse")
        for _ in 0..<4 { _ = try? await harness.accounts.sessionLogin(email: "alice@example.com", password: "typo horse", client: "home") }
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "home")
        for _ in 0..<4 { _ = try? await harness.accounts.sessionLogin(email: "alice@example.com", password: "typo horse", client: "home") }
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "home")
    }

    @Test("a login with a hash of older parameters upgrades the stored hash")
    func rehashOnLogin() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com", password: "correct horse")
        let old = try PasswordHasher(parameters: .init(memoryKiB: 32, iterations: 1, parallelism: 1), workers: 1)
        let oldHash = try await old.hash("correct horse")
        try await harness.database.write { try $0.execute(sql: "UPDATE user SET password_hash = ? WHERE email = 'alice@example.com'", arguments: [oldHash]) }
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c")
        let stored = try #require(try harness.user("alice@example.com")?.passwordHash)
        #expect(stored != oldHash)
        #expect(stored.hasPrefix("$argon2id$v=19$m=64,t=1,p=1$"))
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c")
    }

    @Test("authenticate refuses malformed and unknown tokens")
    func authenticateRefusesGarbage() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        for bad in ["", "garbage", "tns", "tns_", "tns_" + String(repeating: "A", count: 43), "tnr_" + token.dropFirst(4), token + "x", String(token.dropLast())] {
            await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: bad) }
        }
        _ = try harness.principal(token)
    }

    @Test("a session ends after 7 days without use")
    func idleExpiry() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        harness.clock.advance(seconds: 7 * Self.day - 1)
        _ = try harness.principal(token)
        harness.clock.advance(seconds: 2)
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
    }

    @Test("using a session keeps it open; touches never move its clock back")
    func touchKeepsAlive() async throws {
        let harness = try Harness()
        let start = harness.clock.now()
        let token = try await harness.activeUser("alice@example.com")
        harness.clock.advance(seconds: 6 * Self.day)
        let principal = try harness.principal(token)
        #expect(principal.isStale)
        try await harness.accounts.touch(principal)
        #expect(try harness.principal(token).isStale == false)
        harness.clock.advance(seconds: 6 * Self.day)
        // 12 days after login, 6 after the last use: still open. Use it again.
        try await harness.accounts.touch(try harness.principal(token))
        // A late touch carrying an older time (day 6) does not move the last use back.
        harness.clock.set(start.adding(days: 6))
        try await harness.accounts.touch(principal)
        // Open until 7 days after day 12.
        harness.clock.set(start.adding(days: 19).adding(seconds: -1))
        _ = try harness.principal(token)
        harness.clock.advance(seconds: 1)
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
    }

    @Test("isStale turns on a minute after the last touch")
    func staleness() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        harness.clock.advance(seconds: 60)
        #expect(try harness.principal(token).isStale == false)
        harness.clock.advance(seconds: 1)
        #expect(try harness.principal(token).isStale == true)
    }

    @Test("a session ends 30 days after login, however often it is used")
    func absoluteExpiry() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        for _ in 0..<4 {
            harness.clock.advance(seconds: 6 * Self.day)
            try await harness.accounts.touch(try harness.principal(token))
        }
        // Day 24 → day 30 minus a second: still open.
        harness.clock.advance(seconds: 6 * Self.day - 1)
        try await harness.accounts.touch(try harness.principal(token))
        harness.clock.advance(seconds: 1)
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
    }

    @Test("refresh swaps an open session for a new one; the old token stops working")
    func refreshOpenSession() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        let before = try harness.principal(token)
        harness.clock.advance(seconds: 3600)
        let fresh = try await harness.accounts.refresh(token: token, client: "c")
        #expect(fresh != token)
        #expect(fresh.hasPrefix("tns_"))
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
        let after = try harness.principal(fresh)
        #expect(after.user.id == before.user.id)
        #expect(after.tenantId == before.tenantId)
        #expect(after.sessionId != before.sessionId)
        // The old token cannot be refreshed a second time.
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.refresh(token: token, client: "c") }
        await expectDomainError(.invalidArgument("")) { try await harness.accounts.refresh(token: "", client: "c") }
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.refresh(token: "tns_unknown", client: "c") }
    }

    @Test("refresh works within 7 days after a session ended, not later")
    func refreshWindow() async throws {
        let harness = try Harness()
        let early = try await harness.activeUser("alice@example.com")
        let late = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c")
        // Idle for 7 days: ended. 7 more days of grace for refresh.
        harness.clock.advance(seconds: 14 * Self.day - 1)
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: early) }
        let fresh = try await harness.accounts.refresh(token: early, client: "c")
        _ = try harness.principal(fresh)
        harness.clock.advance(seconds: 1)
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.refresh(token: late, client: "c") }
    }

    @Test("a session past its 30 days can be refreshed within the window after that")
    func refreshAfterAbsoluteExpiry() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        for days in [6, 6, 6, 6, 5] as [Int64] {  // used on days 6, 12, 18, 24 and 29
            harness.clock.advance(seconds: days * Self.day)
            try await harness.accounts.touch(try harness.principal(token))
        }
        harness.clock.advance(seconds: 7 * Self.day)  // day 36: 6 days past the absolute end
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
        let fresh = try await harness.accounts.refresh(token: token, client: "c")
        _ = try harness.principal(fresh)
    }

    @Test("logout revokes the session, which cannot be refreshed either")
    func logout() async throws {
        let harness = try Harness()
        let token = try await harness.activeUser("alice@example.com")
        let other = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c")
        try await harness.accounts.logout(try harness.principal(token))
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: token) }
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.refresh(token: token, client: "c") }
        // Only that session.
        _ = try harness.principal(other)
        #expect(try harness.count("SELECT count(*) FROM session WHERE revoked_at IS NOT NULL") >= 1)
    }

    @Test("a session keeps its chosen tenant, and falls back when it loses it")
    func sessionTenant() async throws {
        let harness = try Harness()
        let aliceToken = try await harness.activeUser("alice@example.com")
        let bobToken = try await harness.activeUser("bob@example.com")
        let alice = try harness.principal(aliceToken)
        let results = try await harness.tenants.invite(alice, [.init(email: "bob@example.com", role: "member")])
        let invite = try Harness.inviteToken(from: results[0].invitedURL)
        _ = try await harness.tenants.acceptInvite(
            .init(email: "", password: "correct horse", tenantId: "", inviteToken: invite, fromLink: "", country: ""), client: "c"
        )
        let bob = try harness.principal(bobToken)
        let bobHome = try #require(bob.tenantId)
        _ = try await harness.tenants.switchTenant(bob, to: try #require(alice.tenantId))
        #expect(try harness.principal(bobToken).tenantId == alice.tenantId)
        #expect(try harness.principal(bobToken).role == .member)
        // Refresh keeps the choice.
        harness.clock.advance(seconds: 10)
        let refreshed = try await harness.accounts.refresh(token: bobToken, client: "c")
        #expect(try harness.principal(refreshed).tenantId == alice.tenantId)
        // Removed from Alice's tenant: back to his own.
        try await harness.tenants.removeMember(try harness.principal(aliceToken), email: "bob@example.com")
        let fallback = try harness.principal(refreshed)
        #expect(fallback.tenantId == bobHome)
        #expect(fallback.role == .owner)
    }
}
