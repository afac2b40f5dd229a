import Foundation
import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

@Suite("The user's own account")
struct UserTests {
    @Test("renaming validates the name")
    func rename() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("ann@example.com")
        try await daemon.ok("POST", "/v1/user/name", json: ["name": "  Ann Lee  "], token: session)
        #expect(try await daemon.ok("GET", "/v1/user", token: session)["user"]?["name"] == "Ann Lee")
        expectError(try await daemon.call("POST", "/v1/user/name", json: ["name": "   "], token: session), code: 3, containing: "name is required")
        expectError(try await daemon.call("POST", "/v1/user/name", json: ["name": .string(String(repeating: "x", count: 101))], token: session), code: 3, containing: "at most 100")
        expectError(try await daemon.call("POST", "/v1/user/name", json: ["name": "bad\u{7}name"], token: session), code: 3, containing: "control")
        expectError(try await daemon.call("POST", "/v1/user/name", json: ["name": "x"]), code: 16)
    }

    @Test("changing the password checks the old one and ends the other sessions only")
    func changePassword() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("ben@example.com", password: "first password")
        let other = try await daemon.ok("POST", "/v1/account/login", json: ["email": "ben@example.com", "password": "first password"])["token"]!.string
        expectError(try await daemon.call("POST", "/v1/user/password", json: ["old_password": "wrong one!", "new_password": "second password"], token: session), code: 3, containing: "incorrect")
        expectError(try await daemon.call("POST", "/v1/user/password", json: ["old_password": "first password", "new_password": "2short"], token: session), code: 3, containing: "at least 8")
        expectError(
            try await daemon.call("POST", "/v1/user/password", json: ["old_password": "first password", "new_password": .string(String(repeating: "p", count: 129))], token: session), code: 3,
            containing: "at most 128")
        try await daemon.ok("POST", "/v1/user/password", json: ["old_password": "first password", "new_password": "second password"], token: session)
        try await daemon.ok("GET", "/v1/user", token: session)
        expectError(try await daemon.call("GET", "/v1/user", token: other), code: 16)
        try await daemon.ok("POST", "/v1/account/login", json: ["email": "ben@example.com", "password": "second password"])
    }

    @Test("avatars: PNG, JPEG and WebP up to 1 MiB, judged by content, served back")
    func avatar() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("cat@example.com")
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 100)
        let uploaded = try await upload(daemon, session, file: png, claimedType: "image/png")
        #expect(uploaded.status == 200)
        let url = try uploaded.json()["thumbnail_url"]!.string
        #expect(url.hasPrefix("https://app.example.test/v1/avatars/avt_"), "absolute, from the public URL")
        #expect(try await daemon.ok("GET", "/v1/user", token: session)["user"]?["thumbnail_url"]?.string == url)

        let path = String(url.dropFirst("https://app.example.test".count))
        let served = try await daemon.call("GET", path)
        #expect(served.status == 200)
        #expect(served.body == png)
        #expect(served.header("content-type") == "image/png")
        #expect(served.header("cache-control")?.contains("immutable") == true)
        #expect(served.header("x-content-type-options") == "nosniff")

        let webp: [UInt8] = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8) + Array(repeating: 1, count: 20)
        let second = try await upload(daemon, session, file: webp, claimedType: "image/webp")
        #expect(second.status == 200)
        expectError(try await daemon.call("GET", path), code: 5)

        expectError(try await upload(daemon, session, file: Array("<svg onload=alert(1)>".utf8), claimedType: "image/png"), code: 3, containing: "PNG, JPEG or WebP")
        expectError(try await upload(daemon, session, file: [0xFF, 0xD8, 0xFF] + Array(repeating: 0, count: Avatar.maximumBytes), claimedType: "image/jpeg"), code: 3, containing: "larger than")
        expectError(try await upload(daemon, session, file: [], claimedType: "image/png"), code: 3, containing: "empty")
        expectError(try await daemon.call("POST", "/v1/user/avatar", json: ["file": "x"], token: session), code: 3, containing: "multipart")
        expectError(
            try await daemon.call(
                "POST", "/v1/user/avatar", token: session, headers: [("Content-Type", "multipart/form-data; boundary=xyz")],
                rawBody: Array("--xyz\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhi\r\n--xyz--\r\n".utf8)), code: 3, containing: "no file field")
    }

    private func upload(_ daemon: TestDaemon, _ session: String, file: [UInt8], claimedType: String) async throws -> HTTPResponse {
        let boundary = "tenantry-\(UUID().uuidString)"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"me.png\"\r\nContent-Type: \(claimedType)\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return try await daemon.call("POST", "/v1/user/avatar", token: session, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], rawBody: body)
    }

    @Test("deleting an account: refused for the last owner of a shared tenant, otherwise everything goes")
    func deleteAccount() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let owner = try await daemon.signUp("dan@example.com")
        let invited = try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "eli@example.com", "role": "member"]]], token: owner)
        #expect(invited["rets"]?[0]?["status"] == "SC_OK")
        try await daemon.ok("POST", "/v1/account/invite/accept", json: ["invite_token": .string(try daemon.latestInviteToken(for: "eli@example.com")), "password": "eli's password"])

        expectError(try await daemon.call("DELETE", "/v1/user", token: owner), code: 3, containing: "last owner")
        try await daemon.ok("POST", "/v1/tenant/members/role", json: ["email": "eli@example.com", "role": "owner"], token: owner)
        try await daemon.ok("DELETE", "/v1/user", token: owner)
        expectError(try await daemon.call("GET", "/v1/user", token: owner), code: 16)
        expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "dan@example.com", "password": "correct horse battery"]), code: 16)

        let eli = try await daemon.ok("POST", "/v1/account/login", json: ["email": "eli@example.com", "password": "eli's password"])["token"]!.string
        let members = try await daemon.ok("GET", "/v1/tenant/members", token: eli)
        #expect(members["members"]?.arrayValue?.count == 1)
        // The address is free again.
        _ = try await daemon.signUp("dan@example.com")
    }
}
