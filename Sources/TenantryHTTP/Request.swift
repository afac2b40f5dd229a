import Foundation

/// One HTTP request as the router and handlers see it: everything is copied out of
/// libmicrohttpd on its own thread, so a `Request` can travel to any other thread.
public struct Request: Sendable {
    public let method: String
    /// The path without the query string, percent-decoded by libmicrohttpd.
    public let path: String
    public let query: [String: String]
    /// Header names are lower-cased.
    public let headers: [String: String]
    public let body: [UInt8]
    /// The client's address: the connection's, or the one a trusted proxy forwarded.
    public let clientAddress: String
    /// Values of `{name}` segments of the matched route.
    public internal(set) var pathParameters: [String: String] = [:]
    /// The route pattern that matched, e.g. `/v1/usage/plans/{plan_name}`.
    public internal(set) var route: String = ""

    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: [UInt8] = [], clientAddress: String = "127.0.0.1"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.clientAddress = clientAddress
    }

    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    public func parameter(_ name: String) -> String {
        pathParameters[name] ?? ""
    }

    /// The credential of an `Authorization: Bearer …` header, if there is one.
    public var bearerToken: String? {
        guard let value = headers["authorization"] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// True when the client (not merely a proxy in front of it) is on this machine.
    public var isFromLoopback: Bool {
        guard let bytes = TrustedProxies.bytes(clientAddress) else { return false }
        return bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }
}
