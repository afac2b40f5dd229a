import Foundation
import GRDB
import Testing

@testable import TenantryCore

/// Operators' second factor (TOTP, RFC 6238) against a temp database and a moved clock.
@Suite("Two-factor sign-in for operators")
struct TwoFactorTests {
    static let password = "operator password"

    /// An operator with a confirmed second factor: (email, secret bytes, recovery codes).
    func enrolled(_ harness: Harness, _ email: String = "root@example.com") async throws -> (String, [UInt8], [String]) {
        _ = try await harness.accounts.createOperator(email: email, password: Self.password)
        let principal = try harness.principal(try await harness.accounts.sessionLogin(email: email, password: Self.password, client: "10.0.0.1"))
        let enrolment = try await harness.tenantry.twoFactor.enroll(principal)
        #expect(enrolment.uri.hasPrefix("otpauth://totp/Tenantry:"))
        #expect(enrolment.uri.contains("secret=\(enrolment.secret)&issuer=Tenantry&algorithm=SHA1&digits=6&period=30"))
        let secret = try #require(Self.decodeBase32(enrolment.secret))
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.twoFactor.confirm(principal, code: "000000") }
        let codes = try await harness.tenantry.twoFactor.confirm(principal, code: TOTP.code(secret: secret, step: TOTP.step(at: harness.clock.now())))
        #expect(codes.count == 10)
        #expect(Set(codes).count == 10)
        return (email, secret, codes)
    }

    static func decodeBase32(_ text: String) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var buffer = 0
        var bits = 0
        var bytes: [UInt8] = []
        for character in text {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                bytes.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return bytes
    }

    func challenge(_ harness: Harness, _ email: String) async throws -> String {
        guard case .secondFactor(let challenge) = try await harness.accounts.login(email: email, password: Self.password, client: "10.0.0.1") else {
            Issue.record("a password alone opened a session")
            return ""
        }
        return challenge
    }

    @Test("codes match RFC 6238's SHA-1 test vectors, one step either side of now")
    func vectors() {
        let secret = Array("12345678901234567890".utf8)
        #expect(TOTP.code(secret: secret, step: 59 / 30) == "287082")
        #expect(TOTP.code(secret: secret, step: 1_111_111_109 / 30) == "081804")
        #expect(TOTP.code(secret: secret, step: 1_234_567_890 / 30) == "005924")
        #expect(TOTP.code(secret: secret, step: 20_000_000_000 / 30) == "353130")
        let now = Instant(milliseconds: 1_111_111_109_000)
        #expect(TOTP.matchingStep("081804", secret: secret, at: now, after: 0) == Int64(37_037_036))
        #expect(TOTP.matchingStep("081804", secret: secret, at: now.adding(seconds: 30), after: 0) != nil, "the step before now still counts")
        #expect(TOTP.matchingStep("081804", secret: secret, at: now.adding(seconds: 90), after: 0) == nil)
        #expect(TOTP.matchingStep("081804", secret: secret, at: now, after: 1_111_111_109 / 30) == nil, "a code works once")
        #expect(TOTP.matchingStep("08180", secret: secret, at: now, after: 0) == nil)
    }

    @Test("a password then a code signs an operator in; a code or a recovery code works once; a challenge expires")
    func signIn() async throws {
        let harness = try Harness()
        let (email, secret, recovery) = try await enrolled(harness)
        harness.clock.advance(seconds: 60)
        let first = try await challenge(harness, email)
        let code = TOTP.code(secret: secret, step: TOTP.step(at: harness.clock.now()))
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.completeLogin(challenge: first, code: "123456", client: "10.0.0.1") }
        let token = try await harness.accounts.completeLogin(challenge: first, code: code, client: "10.0.0.1")
        #expect(try harness.principal(token).user.email == email)
        // The same challenge, or the same code again: refused.
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.completeLogin(challenge: first, code: code, client: "10.0.0.1") }
        let second = try await challenge(harness, email)
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.completeLogin(challenge: second, code: code, client: "10.0.0.1") }
        // A recovery code, typed in capitals: once.
        _ = try await harness.accounts.completeLogin(challenge: second, code: recovery[0].uppercased(), client: "10.0.0.1")
        let third = try await challenge(harness, email)
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.completeLogin(challenge: third, code: recovery[0], client: "10.0.0.1") }
        let principal = try harness.principal(token)
        #expect(try harness.tenantry.twoFactor.status(principal).recoveryCodesLeft == 9)
        // A challenge lasts five minutes.
        harness.clock.advance(seconds: 301)
        let late = TOTP.code(secret: secret, step: TOTP.step(at: harness.clock.now()))
        await expectDomainError(.unauthenticated("")) { try await harness.accounts.completeLogin(challenge: third, code: late, client: "10.0.0.1") }
    }

    @Test("wrong codes are limited like passwords; required mode refuses operators without a factor; a reset is audited")
    func limitsAndRules() async throws {
        let harness = try Harness { $0.operatorTwoFactorRequired = true }
        _ = try await harness.accounts.createOperator(email: "other@example.com", password: Self.password)
        await expectDomainError(.permissionDenied("")) { try await harness.accounts.login(email: "other@example.com", password: Self.password, client: "10.0.0.1") }
        // The command line enrolls them.
        let enrolment = try await harness.tenantry.twoFactor.enroll(operatorEmail: "other@example.com")
        let secret = try #require(Self.decodeBase32(enrolment.secret))
        _ = try await harness.tenantry.twoFactor.confirm(operatorEmail: "other@example.com", code: TOTP.code(secret: secret, step: TOTP.step(at: harness.clock.now())))
        let challenge = try await challenge(harness, "other@example.com")
        for _ in 0..<5 {
            await expectDomainError(.unauthenticated("")) { try await harness.accounts.completeLogin(challenge: challenge, code: "000000", client: "10.0.0.9") }
        }
        harness.clock.advance(seconds: 30)
        let right = TOTP.code(secret: secret, step: TOTP.step(at: harness.clock.now()))
        await expectDomainError(.resourceExhausted("")) { try await harness.accounts.completeLogin(challenge: challenge, code: right, client: "10.0.0.9") }

        // Users are not operators: no second factor for them.
        let user = try harness.principal(try await harness.activeUser("user@example.com"))
        await expectDomainError(.permissionDenied("")) { try await harness.tenantry.twoFactor.enroll(user) }

        let other = try #require(try harness.user("other@example.com"))
        try await harness.tenantry.twoFactor.reset(userId: other.id, by: .system)
        #expect(try harness.count("SELECT count(*) FROM audit WHERE action = 'user.2fa_reset' AND target_id = ?", [other.id]) == 1)
        #expect(try harness.count("SELECT count(*) FROM totp_recovery_code WHERE user_id = ?", [other.id]) == 0)
        await expectDomainError(.invalidArgument("")) { try await harness.tenantry.twoFactor.reset(userId: other.id, by: .system) }
    }
}
