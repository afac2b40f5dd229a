import Foundation
import GRDB
import Testing

@testable import TenantryCore

@Suite("AccountService: forgotten password")
struct PasswordResetTests {
    @Test("an unknown address gets a token but no email, and no code is ever valid")
    func unknownEmail() async throws {
        let harness = try Harness()
        let token = try await harness.accounts.forgotPassword(email: "ghost@example.com", client: "c")
        #expect(token.hasPrefix("tnp_"))
        #expect(try harness.mails(to: "ghost@example.com").isEmpty)
        #expect(try harness.count("SELECT count(*) FROM outbox") == 0)
        for code in ["000000", "123456", "999999"] {
            let check = try await harness.accounts.verifyForgotPassword(email: "ghost@example.com", code: code, token: token)
            #expect(check.isValid == false)
            #expect(check.newToken == "")
            #expect(check.redirectURL == "")
            #expect(check.email == "ghost@example.com")
        }
    }

    @Test("a disabled account gets no reset email")
    func disabledGetsNoEmail() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com")
        try await harness.database.write { try $0.execute(sql: "UPDATE user SET status = 'DISABLED'") }
        let before = try harness.mails(to: "alice@example.com").count
        _ = try await harness.accounts.forgotPassword(email: "alice@example.com", client: "c")
        #expect(try harness.mails(to: "alice@example.com").count == before)
    }

    @Test("the reset flow: code, reset token, new password; every session ends")
    func fullReset() async throws {
        let harness = try Harness()
        let first = try await harness.activeUser("alice@example.com", password: "old password")
        let second = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "laptop")

        let token = try await harness.accounts.forgotPassword(email: "Alice@Example.com", client: "c")
        let mail = try #require(try harness.mails(to: "alice@example.com").first)
        #expect(mail.email.subject == "Your Tenantry password reset code")
        let code = try harness.latestCode(to: "alice@example.com")

        // A wrong code answers isValid: false and counts as an attempt.
        let wrong = try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: Harness.wrongCode(for: code), token: token)
        #expect(wrong.isValid == false)
        #expect(try harness.count("SELECT attempts FROM verification WHERE purpose = 'reset_code'") == 1)

        let check = try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: code, token: token)
        #expect(check.isValid)
        #expect(check.email == "alice@example.com")
        #expect(check.newToken.hasPrefix("tnp_"))
        #expect(check.newToken != token)
        #expect(check.redirectURL == "https://tenantry.test/password/reset")
        // The code is spent.
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: code, token: token)
        }

        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.resetPassword(token: check.newToken, newPassword: "new password", confirmation: "new passw0rd")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.resetPassword(token: check.newToken, newPassword: "short", confirmation: "short")
        }
        try await harness.accounts.resetPassword(token: check.newToken, newPassword: "new password", confirmation: "new password")

        // Every session is over; only the new password opens a new one.
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: first) }
        await expectDomainError(.unauthenticated("")) { try harness.accounts.authenticate(token: second) }
        await expectDomainError(.unauthenticated("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "c2")
        }
        let fresh = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "new password", client: "c2")
        _ = try harness.principal(fresh)
        #expect(try harness.mails(to: "alice@example.com").first?.email.subject == "Your Tenantry password was changed")

        // The reset token worked once.
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.resetPassword(token: check.newToken, newPassword: "third password", confirmation: "third password")
        }
    }

    @Test("a reset activates an account that had no password yet")
    func resetActivatesUninitialized() async throws {
        let harness = try Harness()
        _ = try await harness.registerVerified("alice@example.com")
        let token = try await harness.accounts.forgotPassword(email: "alice@example.com", client: "c")
        let check = try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: try harness.latestCode(to: "alice@example.com"), token: token)
        try await harness.accounts.resetPassword(token: check.newToken, newPassword: "brand new pw", confirmation: "brand new pw")
        #expect(try harness.user("alice@example.com")?.status == .active)
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "brand new pw", client: "c")
    }

    @Test("after 5 wrong codes the reset code is refused")
    func resetCodeAttempts() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com")
        let token = try await harness.accounts.forgotPassword(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        for _ in 0..<5 {
            let check = try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: Harness.wrongCode(for: code), token: token)
            #expect(!check.isValid)
        }
        let error = await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: code, token: token)
        }
        #expect(error?.message == "too many wrong codes; request a new one")
    }

    @Test("the reset code expires after 10 minutes, and its email then reads [expired]")
    func resetCodeExpires() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com")
        let token = try await harness.accounts.forgotPassword(email: "alice@example.com", client: "c")
        let code = try harness.latestCode(to: "alice@example.com")
        #expect(try harness.mails(to: "alice@example.com").first?.body.contains("Your password reset code is \(code).") == true)
        harness.clock.advance(seconds: 599)
        #expect(try harness.mails(to: "alice@example.com").first?.body.contains(code) == true)
        harness.clock.advance(seconds: 1)
        let body = try #require(try harness.mails(to: "alice@example.com").first?.body)
        #expect(body.contains("Your password reset code is [expired]."))
        #expect(!body.contains(code))
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: code, token: token)
        }
    }

    @Test("the reset token lasts 15 minutes")
    func resetTokenExpires() async throws {
        let harness = try Harness()
        _ = try await harness.activeUser("alice@example.com", password: "old password")
        let token = try await harness.accounts.forgotPassword(email: "alice@example.com", client: "c")
        let check = try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: try harness.latestCode(to: "alice@example.com"), token: token)
        harness.clock.advance(seconds: 15 * 60)
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.resetPassword(token: check.newToken, newPassword: "new password", confirmation: "new password")
        }
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.resetPassword(token: "", newPassword: "new password", confirmation: "new password")
        }
        // A reset code token is not a reset token.
        await expectDomainError(.invalidArgument("")) {
            try await harness.accounts.resetPassword(token: token, newPassword: "new password", confirmation: "new password")
        }
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "c")
    }

    @Test("a reset lifts the per-account lock set by guessing from many places")
    func resetForgetsAccountThrottle() async throws {
        let harness = try Harness { $0.loginFailuresPerAccount = 3 }
        _ = try await harness.activeUser("alice@example.com", password: "old password")
        for index in 0..<3 {
            _ = try? await harness.accounts.sessionLogin(email: "alice@example.com", password: "guess \(index)", client: "bot\(index)")
        }
        await expectDomainError(.resourceExhausted("")) {
            try await harness.accounts.sessionLogin(email: "alice@example.com", password: "old password", client: "home")
        }
        let token = try await harness.accounts.forgotPassword(email: "alice@example.com", client: "home")
        let check = try await harness.accounts.verifyForgotPassword(email: "alice@example.com", code: try harness.latestCode(to: "alice@example.com"), token: token)
        try await harness.accounts.resetPassword(token: check.newToken, newPassword: "new password", confirmation: "new password")
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "new password", client: "home")
    }
}
