import Foundation

/// Builds the `sockaddr` libmicrohttpd binds to, from a numeric IPv4 or IPv6 address.
enum SocketAddress {
    static func resolve<T>(host: String, port: UInt16, _ body: (UnsafePointer<sockaddr>, _ isIPv6: Bool) throws -> T) throws -> T {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, bare, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            return try withUnsafePointer(to: &v4) { try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, false) } }
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, bare, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            return try withUnsafePointer(to: &v6) { try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, true) } }
        }
        throw ServerError.badAddress(host)
    }
}
