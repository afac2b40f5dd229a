import Crypto
import Foundation
import Synchronization

/// Random identifiers, bearer secrets and codes, and their hashes. Only hashes of secrets
/// reach the database: tokens and keys carry 256 random bits, so SHA-256 is enough.
public enum Secrets {
    /// An opaque identifier such as `usr_01k2h…`: 48 bits of milliseconds, then 80 random
    /// bits, in base32. Ids made one after the other sort together, so inserting them touches
    /// the end of an index instead of random pages all over it.
    public static func identifier(_ prefix: String) -> String {
        let milliseconds = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        let time = (0..<6).map { UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - $0))) }
        return prefix + "_" + base32(time + randomBytes(10))
    }

    /// A bearer secret such as `tns_…` (256 random bits, base64url).
    public static func token(_ prefix: String) -> String {
        prefix + "_"
            + Data(randomBytes(32)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A uniformly drawn numeric code, e.g. `"042917"`.
    public static func numericCode(digits: Int = 6) -> String {
        var generator = SystemRandomNumberGenerator()
        var limit = 1
        for _ in 0..<digits { limit *= 10 }
        let value = Int.random(in: 0..<limit, using: &generator)
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    public static func sha256(_ text: String) -> Data {
        Data(SHA256.hash(data: Data(text.utf8)))
    }

    /// Binds a short code to the high-entropy token it was issued with, so that a leaked
    /// database row does not reveal the code.
    public static func codeHash(code: String, token: String) -> Data {
        let key = SymmetricKey(data: Data(SHA256.hash(data: Data(token.utf8))))
        return Data(HMAC<SHA256>.authenticationCode(for: Data(code.utf8), using: key))
    }

    public static func constantTimeEqual(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
        return difference == 0
    }

    /// Bytes from the kernel's CSPRNG, read 4 KiB at a time: one read serves many ids instead
    /// of one getrandom call per eight bytes (ids are made on every debit).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        RandomPool.shared.take(count)
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")

    /// RFC 4648 base32 without padding, lower-case.
    static func base32(_ bytes: [UInt8]) -> String {
        var output = ""
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return output
    }
}

/// The kernel's random bytes, buffered (read 4 KiB at a time). The buffer lives in this process only (Tenantry
/// never forks), and each byte is handed out once.
final class RandomPool: Sendable {
    static let shared = RandomPool()
    private static let size = 4096

    private struct Buffer {
        var bytes = [UInt8](repeating: 0, count: RandomPool.size)
        var next = RandomPool.size
    }

    private let buffer = Mutex(Buffer())

    func take(_ count: Int) -> [UInt8] {
        guard count <= Self.size / 4 else { return Self.fill(count) }
        return buffer.withLock { buffer in
            if buffer.next + count > Self.size {
                buffer.bytes = Self.fill(Self.size)
                buffer.next = 0
            }
            defer {
                // Handed out: not kept where a later reader of this memory could find it.
                for index in buffer.next..<(buffer.next + count) { buffer.bytes[index] = 0 }
                buffer.next += count
            }
            return Array(buffer.bytes[buffer.next..<(buffer.next + count)])
        }
    }

    /// The kernel's CSPRNG through /dev/urandom, kept open (getrandom(2) is not in Swift's
    /// Glibc module); on Linux both read the same generator.
    private static let urandom: Int32 = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    private static func fill(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { read(urandom, $0.baseAddress! + done, count - done) }
            if got > 0 { done += got } else if got == 0 || errno != EINTR { fatalError("/dev/urandom cannot be read: errno \(errno)") }
        }
        return bytes
    }
}
