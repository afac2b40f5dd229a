import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

@Suite("Accounts: registration, login, sessions, password reset")
struct AccountFlowTests {
    @Test("a new user registers with an emailed code, sets a password and logs in")
    func registerVerifyInitialLogin() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let registration = try await daemon.ok("POST", "/v1/account/register", json: ["email": " Alice@Example.COM "])
        #expect(registration["token"]!.string.hasPrefix("tnr_"))
        #expect(registration["redirect_url"]!.string == "https://app.example.test/register/verify")

        let code = try daemon.latestCode(for: "alice@example.com")
        let verified = try await daemon.ok(
            "POST", "/v1/account/register/verify",
            json: [
                "email": "alice@example.com", "code": .string(code), "token": registration["token"]!, "from_link": "ad-1", "country": "FR",
            ])
        #expect(verified["is_initialized"] == false)
        let firstSession = verified["token"]!.string

        let before = try await daemon.ok("GET", "/v1/user", token: firstSession)
        #expect(before["user"]?["status"] == "UNINITIALIZED")
        #expect(before["user"]?["email"] == "alice@example.com")
        #expect(before["user"]?["subscription_info"]?["status"] == "TRIALING")
        #expect(before["user"]?["subscription_info"]?["plan"] == "NEW_USER_TRIAL")

        let initialized = try await daemon.ok("POST", "/v1/user/initial", json: ["password": "s3cret-enough", "timezone": "Europe/Paris"], token: firstSession)
        let session = initialized["token"]!.string
        expectError(try await daemon.call("GET", "/v1/user", token: firstSession), code: 16)
        #expect(try await daemon.ok("GET", "/v1/user", token: session)["user"]?["status"] == "ACTIVE")
        expectError(try await daemon.call("POST", "/v1/user/initial", json: ["password": "another-pass"], token: session), code: 3, containing: "already set")

        let login = try await daemon.ok("POST", "/v1/account/login", json: ["email": "ALICE@example.com", "password": "s3cret-enough"])
        #expect(login["token"]!.string.hasPrefix("tns_"))

        // The personal tenant exists and is current.
        let tenants = try await daemon.ok("GET", "/v1/user/tenants", token: session)
        #expect(tenants["tenants"]?[0]?["role"] == "owner")
        #expect(tenants["tenants"]?[0]?["is_current"] == true)
        #expect(tenants["page"]?["total"] == "1")
    }

    @Test("verification refuses wrong, reused, expired and exhausted codes")
    func codeRules() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let token = try await daemon.ok("POST", "/v1/account/register", json: ["email": "bob@example.com"])["token"]!
        let code = try daemon.latestCode(for: "bob@example.com")
        let wrong = code == "000000" ? "111111" : "000000"
        for _ in 0..<5 {
            expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "bob@example.com", "code": .string(wrong), "token": token]), code: 3, containing: "incorrect")
        }
        expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "bob@example.com", "code": .string(code), "token": token]), code: 3, containing: "too many")

        // A second registration gets a fresh code, which then expires after 10 minutes.
        let second = try await daemon.ok("POST", "/v1/account/register", json: ["email": "bob@example.com"])["token"]!
        let secondCode = try daemon.latestCode(for: "bob@example.com")
        daemon.clock.advance(seconds: 601)
        expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "bob@example.com", "code": .string(secondCode), "token": second]), code: 3, containing: "expired")

        // A code only works with the token it was issued with, and only once.
        let third = try await daemon.ok("POST", "/v1/account/register", json: ["email": "bob@example.com"])["token"]!
        let thirdCode = try daemon.latestCode(for: "bob@example.com")
        expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "bob@example.com", "code": .string(thirdCode), "token": second]), code: 3)
        expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "eve@example.com", "code": .string(thirdCode), "token": third]), code: 3)
        try await daemon.ok("POST", "/v1/account/register/verify", json: ["email": "bob@example.com", "code": .string(thirdCode), "token": third])
        expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "bob@example.com", "code": .string(thirdCode), "token": third]), code: 3)
    }

    @Test("registering a taken address answers the same, emails a notice, and verification says it exists")
    func registerExistingEmail() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        _ = try await daemon.signUp("carol@example.com")
        let again = try await daemon.ok("POST", "/v1/account/register", json: ["email": "carol@example.com"])
        #expect(again["token"]!.string.hasPrefix("tnr_"))
        let notice = try daemon.app.outbox(recipient: "carol@example.com").first
        #expect(notice?.email.subject == "You already have a Tenantry account")
        #expect(notice?.body.range(of: "[0-9]{6}", options: .regularExpression) == nil)
    }

    @Test("bad input to the public account routes answers code 3 naming the problem")
    func invalidInput() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        expectError(try await daemon.call("POST", "/v1/account/register", json: [:]), code: 3, containing: "email is required")
        expectError(try await daemon.call("POST", "/v1/account/register", json: ["email": "not-an-email"]), code: 3, containing: "valid email")
        expectError(try await daemon.call("POST", "/v1/account/register", json: ["email": 42]), code: 3, containing: "email must be a string")
        expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "a@b.co"]), code: 3, containing: "password is required")
        expectError(try await daemon.call("POST", "/v1/account/register/verify", json: ["email": "a@b.co", "token": "x"]), code: 3, containing: "code is required")
        expectError(try await daemon.call("POST", "/v1/account/token/refresh", json: [:]), code: 3, containing: "token is required")
        expectError(try await daemon.call("POST", "/v1/account/register", rawBody: Array("[1,2]".utf8)), code: 3, containing: "JSON object")
        expectError(try await daemon.call("POST", "/v1/account/register", rawBody: Array("{\"email\":".utf8)), code: 3, containing: "malformed JSON")
    }

    @Test("login failures are generic, then throttled with Retry-After; a disabled account is refused")
    func loginFailuresAndThrottle() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        _ = try await daemon.signUp("dave@example.com", password: "dave's password")
        expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "nobody@example.com", "password": "whatever1"]), code: 16, containing: "invalid email or password")
        for _ in 0..<5 {
            expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "dave@example.com", "password": "wrong-password"]), code: 16, containing: "invalid email or password")
        }
        let throttled = try await daemon.call("POST", "/v1/account/login", json: ["email": "dave@example.com", "password": "dave's password"])
        expectError(throttled, code: 8, containing: "too many")
        #expect(Int(throttled.header("retry-after") ?? "") ?? 0 > 0)
        // The limit lifts by itself.
        daemon.clock.advance(seconds: 15 * 60 + 1)
        try await daemon.ok("POST", "/v1/account/login", json: ["email": "dave@example.com", "password": "dave's password"])

        try await daemon.app.database.write { try $0.execute(sql: "UPDATE user SET status = 'DISABLED' WHERE email = 'dave@example.com'") }
        expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "dave@example.com", "password": "dave's password"]), code: 7, containing: "disabled")
    }

    @Test("logout ends the session; refresh replaces a token and the old one dies")
    func logoutAndRefresh() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("erin@example.com")
        let refreshed = try await daemon.ok("POST", "/v1/account/token/refresh", json: ["token": .string(session)])["new_token"]!.string
        expectError(try await daemon.call("GET", "/v1/user", token: session), code: 16)
        expectError(try await daemon.call("POST", "/v1/account/token/refresh", json: ["token": .string(session)]), code: 16, containing: "log in again")
        try await daemon.ok("GET", "/v1/user", token: refreshed)

        // Past its idle limit a token no longer opens anything, but can still be refreshed within the window.
        daemon.clock.advance(seconds: 7 * 86_400 + 1)
        expectError(try await daemon.call("GET", "/v1/user", token: refreshed), code: 16)
        let late = try await daemon.ok("POST", "/v1/account/token/refresh", json: ["token": .string(refreshed)])["new_token"]!.string
        try await daemon.ok("GET", "/v1/user", token: late)

        try await daemon.ok("POST", "/v1/account/logout", json: [:], token: late)
        expectError(try await daemon.call("GET", "/v1/user", token: late), code: 16)
        expectError(try await daemon.call("POST", "/v1/account/logout", token: late), code: 16)
    }

    @Test("a session ends after 30 days even when used every day")
    func absoluteExpiry() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("fay@example.com")
        for _ in 0..<29 {
            daemon.clock.advance(seconds: 86_400)
            try await daemon.ok("GET", "/v1/user", token: session)
            // Marking the session as used happens in the background; let it land.
            try await daemon.app.accounts.touch(try daemon.app.accounts.authenticate(token: session))
        }
        daemon.clock.advance(seconds: 86_400 + 1)
        expectError(try await daemon.call("GET", "/v1/user", token: session), code: 16)
    }

    @Test("forgot password: same answer for unknown addresses, code → reset token → new password, every session ends")
    func forgotPasswordFlow() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("gus@example.com", password: "old password")

        let unknown = try await daemon.ok("POST", "/v1/account/password/forgot", json: ["email": "ghost@example.com"])
        #expect(unknown["token"]!.string.hasPrefix("tnp_"))
        #expect(try daemon.app.outbox(recipient: "ghost@example.com").isEmpty)
        let ghostCheck = try await daemon.ok("POST", "/v1/account/password/forgot/verify", json: ["email": "ghost@example.com", "code": "123456", "token": unknown["token"]!])
        #expect(ghostCheck["is_valid"] == false)

        let forgot = try await daemon.ok("POST", "/v1/account/password/forgot", json: ["email": "gus@example.com"])
        let code = try daemon.latestCode(for: "gus@example.com")
        let wrong = code == "000000" ? "111111" : "000000"
        let miss = try await daemon.ok("POST", "/v1/account/password/forgot/verify", json: ["email": "gus@example.com", "code": .string(wrong), "token": forgot["token"]!])
        #expect(miss["is_valid"] == false)
        #expect(miss["new_token"] == "")
        let hit = try await daemon.ok("POST", "/v1/account/password/forgot/verify", json: ["email": "gus@example.com", "code": .string(code), "token": forgot["token"]!])
        #expect(hit["is_valid"] == true)
        #expect(hit["email"] == "gus@example.com")
        #expect(hit["redirect_url"] == "https://app.example.test/password/reset")
        let resetToken = hit["new_token"]!

        expectError(
            try await daemon.call("POST", "/v1/account/password/forgot/reset", json: ["token": resetToken, "new_password": "brand new pass", "password_confirm": "different"]), code: 3,
            containing: "does not match")
        expectError(
            try await daemon.call("POST", "/v1/account/password/forgot/reset", json: ["token": resetToken, "new_password": "short", "password_confirm": "short"]), code: 3, containing: "at least 8")
        try await daemon.ok("POST", "/v1/account/password/forgot/reset", json: ["token": resetToken, "new_password": "brand new pass", "password_confirm": "brand new pass"])
        expectError(
            try await daemon.call("POST", "/v1/account/password/forgot/reset", json: ["token": resetToken, "new_password": "again new pass", "password_confirm": "again new pass"]), code: 3,
            containing: "invalid or has expired")

        expectError(try await daemon.call("GET", "/v1/user", token: session), code: 16)
        expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "gus@example.com", "password": "old password"]), code: 16)
        try await daemon.ok("POST", "/v1/account/login", json: ["email": "gus@example.com", "password": "brand new pass"])
        #expect(try daemon.app.outbox(recipient: "gus@example.com").first?.email.subject == "Your Tenantry password was changed")
    }

    @Test("codes and links show in the outbox only while valid, and never reach the database")
    func outboxSecrets() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        _ = try await daemon.ok("POST", "/v1/account/register", json: ["email": "hal@example.com"])
        let code = try daemon.latestCode(for: "hal@example.com")
        let stored = try daemon.app.database.read { try String.fetchAll($0, sql: "SELECT body FROM outbox") }
        #expect(!stored.contains { $0.contains(code) })
        let op = try await daemon.operatorToken()
        let listed = try await daemon.ok("GET", "/v1/admin/outbox?to=hal@example.com", token: op)
        #expect(listed["emails"]?[0]?["body"]?.string.contains(code) == true)
        daemon.clock.advance(seconds: 601)
        let later = try await daemon.ok("GET", "/v1/admin/outbox?to=hal@example.com", token: op)
        #expect(later["emails"]?[0]?["body"]?.string.contains("[expired]") == true)
    }

    @Test("emails with codes are limited per address")
    func emailThrottle() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        for _ in 0..<5 { try await daemon.ok("POST", "/v1/account/password/forgot", json: ["email": "ivy@example.com"]) }
        expectError(try await daemon.call("POST", "/v1/account/password/forgot", json: ["email": "ivy@example.com"]), code: 8, containing: "too many emails")
        daemon.clock.advance(seconds: 3601)
        try await daemon.ok("POST", "/v1/account/password/forgot", json: ["email": "ivy@example.com"])
    }
}
