import Foundation
import GRDB
import Testing

@testable import TenantryCore

@Suite("AccountService: registration")
struct RegistrationTests {
    @Test("register emails a 6-digit code, and stores neither the code nor the token")
    func registerSendsCode() async throws {
        let harness = try Harness()
        let registration = try await harness.accounts.register(email: "  Alice@Example.COM ", client: "c")
        #expect(registration.token.hasPrefix("tnr_"))
        #expect(registration.redirectURL == "https://tenantry.test/register/verify")

        let mails = try harness.mails(to: "alice@example.com")
        #expect(mails.count == 1)
        let mail = try #require(mails.first)
        #expect(mail.email.recipient == "alice@example.com")
        #expect(mail.email.subject == "Your Tenantry verification code")
        #expect(mail.email.status == .queued)
        let code = try #require(sixDigitCode(in: mail.body))
        #expect(mail.body.contains("Your verification code is \(code)."))
        #expect(mail.body.contains("valid for 10 minutes"))

        // At rest: a placeholder in the body, hashes in the verification row.
        let stored = try harness.database.read { try String.fetchAll($0, sql: "SELECT body FROM outbox") }
        #expect(stored.count == 1)
        #expect(stored.allSatisfy { $0.contains(Mailer.secretPlaceholder) && !$0.contains(code) })
        let row = try #require(try harness.database.read { try Row.fetchOne($0, sql: "SELECT * FROM verification") })
        #expect(row["purpose"] as String == "register")
        #expect(row["email"] as String == "alice@example.com")
        #expect(row["attempts"] as Int == 0)
        #expect((row["token_hash"] as Data) == Secrets.sha256(registration.token))
        #expect((row["code_hash"] as Data) == Secrets.codeHash(code: code, token: registration.token))
        #expect(row["expires_at"] as Int64 == harness.clock.now().adding(minutes: 10).milliseconds)
        // No user exists until the code is verified.
        #expect(try harness.count("SELECT count(*) FROM user") == 0)
    }

    @Test("register refuses an invalid address", arguments: ["", "   ", "no-at-sign", "a@b", "a@@b.io", "a b@c.io", "@x.io", "a@.x.io", "a@x..io", "a@x.io.", "<a>@x.io"])
    func registerRefusesBadEmail(email: String) async throws {
        let harness = try Harness()
        await expectDomainError(.invalidArgument("")) { try await harness.accounts.register(email: email, client: "c") }
        #expect(try harness.count("SELECT count(*) FROM outbox") == 0)
    }

    @Test("the right code creates an UNINITIALIZED user, their workspace, and a session")
    func verifyCreatesUserTenantSession() async throws {
        let harness = try Harness()
        let registration = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        let verified = try await harness.accounts.verifyRegistration(
            email: "ALICE@example.com", code: code, token: registration.token, fromLink: "https://ads.example/x", country: "FR", client: "c"
        )
        #expect(verified.token.hasPrefix("tns_"))
        #expect(verified.isInitialized == false)

        let principal = try harness.principal(verified.token)
        #expect(principal.user.email == "alice@example.com")
        #expect(principal.user.name == "alice")
        #expect(principal.user.status == .uninitialized)
        #expect(principal.user.passwordHash == nil)
        #expect(principal.user.fromLink == "https://ads.example/x")
        #expect(principal.user.country == "FR")
        #expect(principal.user.isOperator == false)
        #expect(principal.role == .owner)
        #expect(principal.isStale == false)

        let tenantId = try #require(principal.tenantId)
        let tenant = try harness.tenants.current(principal)
        #expect(tenant.id == tenantId)
        #expect(tenant.name == "alice's workspace")
        #expect(tenant.role == .owner)
        let page = try harness.tenants.list(principal, page: 1, limit: 10)
        #expect(page.total == 1)
        #expect(page.items.map(\.name) == ["alice's workspace"])
        #expect(page.items.first?.isCurrent == true)

        let members = try harness.tenants.members(principal)
        #expect(members.map(\.email) == ["alice@example.com"])
        #expect(members.first?.status == "UNINITIALIZED")
        #expect(try harness.count("SELECT count(*) FROM verification WHERE consumed_at IS NOT NULL") == 1)
        // The profile reports the new tenant's subscription.
        let profile = try harness.accounts.profile(principal)
        #expect(profile.user == principal.user)
        #expect(profile.subscription == (try harness.database.read { try Subscriptions.info($0, tenantId: tenantId) }))
        #expect(profile.subscription.plan == harness.settings.newTenantPlan)
    }

    @Test("a verification token cannot be used twice")
    func tokenSingleUse() async throws {
        let harness = try Harness()
        let registration = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        _ = try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: registration.token, fromLink: "", country: "", client: "c")
        let error = await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: registration.token, fromLink: "", country: "", client: "c")
        }
        #expect(error?.message == "the code is invalid or has expired; request a new one")
        #expect(try harness.count("SELECT count(*) FROM user") == 1)
        #expect(try harness.count("SELECT count(*) FROM tenant") == 1)
    }

    @Test("a wrong code counts; after 5 wrong codes even the right one is refused")
    func wrongCodes() async throws {
        let harness = try Harness()
        let registration = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        let wrong = Harness.wrongCode(for: code)
        for attempt in 1...5 {
            let error = await expectDomainError(.invalidArgument("")) {
                try await harness.accounts.verifyRegistration(email: "alice@example.com", code: wrong, token: registration.token, fromLink: "", country: "", client: "c")
            }
            #expect(error?.message == "the verification code is incorrect")
            // The attempt is counted even though the call failed.
            #expect(try harness.count("SELECT attempts FROM verification") == attempt)
        }
        let error = await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: registration.token, fromLink: "", country: "", client: "c")
        }
        #expect(error?.message == "too many wrong codes; request a new one")
        #expect(try harness.user("alice@example.com") == nil)
        #expect(try harness.count("SELECT count(*) FROM tenant") == 0)
        #expect(try harness.count("SELECT count(*) FROM session") == 0)
    }

    @Test("four wrong codes still leave the right one usable")
    func fourWrongCodesThenRight() async throws {
        let harness = try Harness()
        let registration = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        for _ in 1...4 {
            _ = try? await harness.accounts.verifyRegistration(email: "alice@example.com", code: Harness.wrongCode(for: code), token: registration.token, fromLink: "", country: "", client: "c")
        }
        let verified = try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: registration.token, fromLink: "", country: "", client: "c")
        #expect(try harness.principal(verified.token).user.email == "alice@example.com")
    }

    @Test("the code works for 10 minutes and not after")
    func codeExpires() async throws {
        let harness = try Harness()
        // Just inside the lifetime.
        let early = try await harness.accounts.register(email: "early@example.com", client: "c")
        let earlyCode = try harness.latestCode(to: "early@example.com")
        let late = try await harness.accounts.register(email: "late@example.com", client: "c")
        let lateCode = try harness.latestCode(to: "late@example.com")
        harness.clock.advance(seconds: 599)
        _ = try await harness.accounts.verifyRegistration(email: "early@example.com", code: earlyCode, token: early.token, fromLink: "", country: "", client: "c")
        harness.clock.advance(seconds: 1)
        let error = await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "late@example.com", code: lateCode, token: late.token, fromLink: "", country: "", client: "c")
        }
        #expect(error?.message == "the code is invalid or has expired; request a new one")
        #expect(try harness.user("late@example.com") == nil)
        // The email no longer shows the code either.
        #expect(try harness.mails(to: "late@example.com").first?.body.contains("[expired]") == true)
    }

    @Test("a token is bound to its email and to registration")
    func tokenBoundToEmailAndPurpose() async throws {
        let harness = try Harness()
        let registration = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "mallory@example.com", code: code, token: registration.token, fromLink: "", country: "", client: "c")
        }
        // A registration token is not a reset token.
        let check = await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: code, token: registration.token)
        }
        #expect(check?.message == "the code is invalid or has expired; request a new one")
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: "", token: registration.token, fromLink: "", country: "", client: "c")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: "", fromLink: "", country: "", client: "c")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: "tnr_unknown", fromLink: "", country: "", client: "c")
        }
        // None of these burned an attempt: the right code still works.
        _ = try await harness.accounts.verifyRegistration(email: "alice@example.com", code: code, token: registration.token, fromLink: "", country: "", client: "c")
    }

    @Test("an existing address gets an 'already have an account' email, and cannot register again")
    func existingEmail() async throws {
        let harness = try Harness()
        // Two registrations in flight for the same address: both get a code.
        let first = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let firstCode = try harness.latestCode(to: "alice@example.com")
        let second = try await harness.accounts.register(email: "alice@example.com", client: "c")
        let secondCode = try harness.latestCode(to: "alice@example.com")
        _ = try await harness.accounts.verifyRegistration(email: "alice@example.com", code: firstCode, token: first.token, fromLink: "", country: "", client: "c")

        // Now the account exists: the second code, though right, cannot create it again.
        await expectDomainError(.alreadyExists("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: secondCode, token: second.token, fromLink: "", country: "", client: "c")
        }
        #expect(try harness.count("SELECT count(*) FROM user") == 1)
        #expect(try harness.count("SELECT count(*) FROM tenant") == 1)

        // A new registration answers the same way, but the email says the account exists.
        let third = try await harness.accounts.register(email: "alice@example.com", client: "c")
        #expect(third.token.hasPrefix("tnr_"))
        #expect(third.redirectURL == first.redirectURL)
        let mail = try #require(try harness.mails(to: "alice@example.com").first)
        #expect(mail.email.subject == "You already have a Tenantry account")
        #expect(mail.body.contains("https://tenantry.test/portal"))
        #expect(sixDigitCode(in: mail.body) == nil)
        #expect(!mail.body.contains("[expired]"))
        // No code was sent, so none can be right.
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyRegistration(email: "alice@example.com", code: "123456", token: third.token, fromLink: "", country: "", client: "c")
        }
    }

    @Test("register is limited to 5 codes per address per hour")
    func registerThrottled() async throws {
        let harness = try Harness()
        for _ in 0..<5 { _ = try await harness.accounts.register(email: "alice@example.com", client: "c") }
        let error = await expectDomainError(.resourceExhausted("")) {
            try await harness.accounts.register(email: "alice@example.com", client: "c")
        }
        if case .resourceExhausted(_, let wait)? = error { #expect(wait == 3600) }
        #expect(try harness.mails(to: "alice@example.com").count == 5)
        harness.clock.advance(seconds: 3600)
        _ = try await harness.accounts.register(email: "alice@example.com", client: "c")
    }

    @Test("a long local part is cut to 100 characters for the default name")
    func defaultNameLength() async throws {
        let harness = try Harness()
        let local = String(repeating: "n", count: 64)
        let token = try await harness.registerVerified("\(local)@example.com")
        let principal = try harness.principal(token)
        #expect(principal.user.name == local)
        #expect(try harness.tenants.current(principal).name == "\(local)'s workspace")
    }
}
