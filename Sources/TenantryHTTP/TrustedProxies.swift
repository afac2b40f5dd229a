import Foundation

/// The reverse proxies whose `X-Forwarded-For` / `X-Real-IP` are believed. Behind a proxy
/// every connection comes from the proxy; limits per client need the client's address.
public struct TrustedProxies: Sendable, Equatable {
    private struct Network: Sendable, Equatable {
        let bytes: [UInt8]
        let prefixLength: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefixLength
            for (a, b) in zip(address, bytes) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    private let networks: [Network]

    /// Proxies on this machine: the usual nginx or Caddy in front of a loopback daemon.
    public static let loopback = try! TrustedProxies("127.0.0.1,::1")
    public static let none = try! TrustedProxies("")

    /// Parses a comma-separated list of addresses and CIDR networks (`10.0.0.0/8`, `::1`).
    public init(_ list: String) throws {
        networks = try list.split(separator: ",").map { item in
            let text = item.trimmingCharacters(in: .whitespaces)
            let parts = text.split(separator: "/", maxSplits: 1)
            guard let bytes = Self.bytes(String(parts[0])) else { throw ServerError.badAddress(text) }
            let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
            guard let length, (0...(bytes.count * 8)).contains(length) else { throw ServerError.badAddress(text) }
            return Network(bytes: bytes, prefixLength: length)
        }
    }

    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client behind `peer`: from a trusted proxy, the right-most address of
    /// `X-Forwarded-For` that is not itself a trusted proxy (else its left-most), or
    /// `X-Real-IP`; from anyone else, the peer itself.
    public func clientAddress(peer: String, forwardedFor: String?, realIP: String?) -> String {
        guard contains(peer) else { return peer }
        let chain = (forwardedFor ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { Self.bytes($0) != nil }
        if let client = chain.last(where: { !contains($0) }) ?? chain.first { return client }
        if let realIP = realIP?.trimmingCharacters(in: .whitespaces), Self.bytes(realIP) != nil { return realIP }
        return peer
    }

    /// The bytes of an IPv4 or IPv6 address; an IPv4-mapped IPv6 address counts as IPv4.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}
