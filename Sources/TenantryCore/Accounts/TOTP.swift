import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as authenticator apps make
/// them: HMAC-SHA1, 30-second steps, 6 digits.
enum TOTP {
    static let period: Int64 = 30
    static let digits = 6

    /// The code of one time step.
    static func code(secret: [UInt8], step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Data($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let value = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let text = String(value % 1_000_000)
        return String(repeating: "0", count: digits - text.count) + text
    }

    static func step(at now: Instant) -> Int64 { now.milliseconds / 1000 / period }

    /// The step `code` belongs to, one step either side of now for a phone's clock, and only
    /// after `lastUsed`: a code works once.
    static func matchingStep(_ code: String, secret: [UInt8], at now: Instant, after lastUsed: Int64) -> Int64? {
        guard code.count == digits, code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let current = step(at: now)
        return [current - 1, current, current + 1].first { candidate in
            candidate > lastUsed && Secrets.constantTimeEqual(Data(Self.code(secret: secret, step: candidate).utf8), Data(code.utf8))
        }
    }

    /// What an authenticator app scans: otpauth://totp/Tenantry:<email>?secret=…
    static func uri(secret: [UInt8], account: String, issuer: String = "Tenantry") -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@+"))
        let label = issuer + ":" + (account.addingPercentEncoding(withAllowedCharacters: safe) ?? account)
        return "otpauth://totp/\(label)?secret=\(Secrets.base32(secret).uppercased())&issuer=\(issuer)&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }
}
