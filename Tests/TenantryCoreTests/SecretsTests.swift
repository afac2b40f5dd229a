import Foundation
import Testing

@testable import TenantryCore

@Suite("Secrets")
struct SecretsTests {
    private static let base32 = Set("abcdefghijklmnopqrstuvwxyz234567")
    private static let base64url = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @Test("identifiers: prefix, 128 bits in lower-case base32, unique")
    func identifiers() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let id = Secrets.identifier("usr")
            #expect(id.hasPrefix("usr_"))
            let body = id.dropFirst(4)
            #expect(body.count == 26)  // ceil(128 / 5)
            #expect(body.allSatisfy { Self.base32.contains($0) }, "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 2000)
        #expect(Secrets.identifier("tnt").hasPrefix("tnt_"))
    }

    @Test("tokens: prefix, 256 bits in base64url without padding, unique")
    func tokens() {
        var seen = Set<String>()
        var characters = Set<Character>()
        for _ in 0..<2000 {
            let token = Secrets.token("tns")
            #expect(token.hasPrefix("tns_"))
            let body = token.dropFirst(4)
            #expect(body.count == 43)  // 32 bytes → 43 characters unpadded
            #expect(!body.contains("="))
            #expect(!body.contains("+") && !body.contains("/"))
            #expect(body.allSatisfy { Self.base64url.contains($0) }, "\(token)")
            characters.formUnion(body)
            // It decodes back to 32 bytes.
            var standard = body.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            standard += "="
            #expect(Data(base64Encoded: standard)?.count == 32)
            seen.insert(token)
        }
        #expect(seen.count == 2000)
        // Over 86,000 random characters, the URL-safe ones do show up.
        #expect(characters.contains("-") && characters.contains("_"))
    }

    @Test("numeric codes are exactly six decimal digits, zero-padded, and vary")
    func numericCodes() {
        var seen = Set<String>()
        var leadingZero = false
        for _ in 0..<3000 {
            let code = Secrets.numericCode()
            #expect(code.count == 6)
            #expect(code.allSatisfy { $0.isASCII && $0.isNumber }, "\(code)")
            if code.hasPrefix("0") { leadingZero = true }
            seen.insert(code)
        }
        #expect(seen.count > 2900)
        // One code in ten starts with 0; 3000 draws without one would be a broken padding.
        #expect(leadingZero)
        #expect(Secrets.numericCode(digits: 4).count == 4)
        #expect(Secrets.numericCode(digits: 8).count == 8)
    }

    @Test("SHA-256 of a known input")
    func sha256() {
        let digest = Secrets.sha256("abc")
        #expect(digest.count == 32)
        #expect(digest.map { String(format: "%02x", $0) }.joined() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("a code hash is bound to its token")
    func codeHash() {
        let token = Secrets.token("tnr")
        let other = Secrets.token("tnr")
        let hash = Secrets.codeHash(code: "123456", token: token)
        #expect(hash.count == 32)
        #expect(hash == Secrets.codeHash(code: "123456", token: token))
        #expect(hash != Secrets.codeHash(code: "123456", token: other))
        #expect(hash != Secrets.codeHash(code: "123457", token: token))
        // Not simply the hash of the code or of the token.
        #expect(hash != Secrets.sha256("123456"))
        #expect(hash != Secrets.sha256(token))
    }

    @Test("constant-time comparison")
    func constantTimeEqual() {
        let a = Data([1, 2, 3, 4])
        #expect(Secrets.constantTimeEqual(a, Data([1, 2, 3, 4])))
        #expect(!Secrets.constantTimeEqual(a, Data([1, 2, 3, 5])))
        #expect(!Secrets.constantTimeEqual(a, Data([0, 2, 3, 4])))
        #expect(!Secrets.constantTimeEqual(a, Data([1, 2, 3])))
        #expect(!Secrets.constantTimeEqual(a, Data([1, 2, 3, 4, 0])))
        #expect(Secrets.constantTimeEqual(Data(), Data()))
        let hash = Secrets.sha256("x")
        #expect(Secrets.constantTimeEqual(hash, Secrets.sha256("x")))
        #expect(!Secrets.constantTimeEqual(hash, Secrets.sha256("y")))
    }

    @Test("random bytes have the asked length and vary")
    func randomBytes() {
        #expect(Secrets.randomBytes(0).isEmpty)
        #expect(Secrets.randomBytes(16).count == 16)
        #expect(Secrets.randomBytes(32) != Secrets.randomBytes(32))
    }

    @Test("random bytes come from the buffered pool without repeats, across refills and for large requests")
    func randomPool() {
        var seen = Set<[UInt8]>()
        // 700 × 16 bytes crosses the 4 KiB buffer's refill twice over.
        for _ in 0..<700 { #expect(seen.insert(Secrets.randomBytes(16)).inserted) }
        #expect(Secrets.randomBytes(0).isEmpty)
        let large = Secrets.randomBytes(10_000)
        #expect(large.count == 10_000)
        #expect(Set(large).count > 200, "the bytes are spread over the range")
        let tokens = Set((0..<1000).map { _ in Secrets.token("tns") })
        #expect(tokens.count == 1000)
    }
}
