import CCurl
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Posts one signed delivery: Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one signature per
/// valid secret), a 10 s timeout, redirects not followed. The host is resolved and checked
/// on every attempt, and curl is pinned to the address that passed, so DNS cannot swap in
/// a private one between the check and the connection.
struct WebhookSender: Sendable {
    /// Loopback, private, link-local and metadata addresses are allowed (tests, on-box receivers).
    let allowPrivate: Bool
    let timeoutSeconds = 10
    /// The part of a response body kept in the log.
    static let responseBodyLimit = 2048

    struct Response: Sendable {
        let outcome: DeliveryOutcome
        let httpStatus: Int?
        let body: String?
        /// Not attempted: the delivery or its endpoint changed after it was handed over.
        var skipped = false

        static let skipped = Response(outcome: .transient("not attempted"), httpStatus: nil, body: nil, skipped: true)
    }

    func post(url: String, messageId: String, payload: String, secrets: [String], at timestamp: Instant) -> Response {
        let target: Target
        do { target = try Self.target(url, allowPrivate: allowPrivate) } catch {
            return Response(outcome: .transient("\((error as? DomainError)?.message ?? "\(error)")"), httpStatus: nil, body: nil)
        }
        let seconds = String(timestamp.milliseconds / 1000)
        let signatures = secrets.compactMap { Self.signature(secret: $0, messageId: messageId, timestamp: seconds, body: payload) }
        do {
            let transfer = try CurlTransfer()
            transfer.receiveLimit = Self.responseBodyLimit
            try transfer.set(CURLOPT_URL, url)
            try transfer.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try transfer.set(CURLOPT_FOLLOWLOCATION, 0)
            // A literal address cannot be re-resolved; a name is pinned to the address checked.
            if !target.isLiteral { try transfer.set(CURLOPT_RESOLVE, list: ["\(target.host):\(target.port):\(target.address)"]) }
            // No proxy from the environment: it would connect where the check did not look.
            try transfer.set(CURLOPT_PROXY, "")
            try transfer.set(CURLOPT_CONNECTTIMEOUT, timeoutSeconds)
            try transfer.set(CURLOPT_TIMEOUT, timeoutSeconds)
            try transfer.set(CURLOPT_USERAGENT, "Tenantry-Webhooks/1")
            try transfer.set(
                CURLOPT_HTTPHEADER,
                list: [
                    "Content-Type: application/json", "webhook-id: \(messageId)", "webhook-timestamp: \(seconds)",
                    "webhook-signature: \(signatures.map { "v1,\($0)" }.joined(separator: " "))",
                ])
            try transfer.setPostBody(Array(payload.utf8))
            try transfer.keepResponse()
            try transfer.perform()
            let status = transfer.responseCode
            let body = String(decoding: transfer.received, as: UTF8.self)
            if (200..<300).contains(status) { return Response(outcome: .delivered, httpStatus: status, body: body) }
            // Every failure is retried: a receiver's 4xx is often a deploy in progress.
            return Response(outcome: .transient("the endpoint answered HTTP \(status)"), httpStatus: status, body: body)
        } catch let failure as CurlTransfer.Failure {
            return Response(outcome: .transient(failure.timedOut ? "timed out after \(timeoutSeconds) s" : "\(failure)"), httpStatus: nil, body: nil)
        } catch {
            return Response(outcome: .transient("\(error)"), httpStatus: nil, body: nil)
        }
    }

    /// base64(HMAC-SHA256(key, "id.timestamp.body")), the key being the secret after `whsec_`.
    static func signature(secret: String, messageId: String, timestamp: String, body: String) -> String? {
        guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst(6))) else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(messageId).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString()
    }

    struct Target: Sendable {
        let host: String
        let port: Int
        let address: String
        let isLiteral: Bool
    }

    /// Checks an endpoint's URL and resolves its host to an address it may reach.
    static func target(_ url: String, allowPrivate: Bool) throws -> Target {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = parsed.host, !host.isEmpty, parsed.user == nil, parsed.password == nil
        else { throw DomainError.invalidArgument("url must be an http:// or https:// URL with a host and no user or password") }
        let port = parsed.port ?? (scheme == "https" ? 443 : 80)
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses = try resolve(bare, port: port)
        guard !addresses.isEmpty else { throw DomainError.invalidArgument("url's host \(host) does not resolve") }
        if !allowPrivate, let blocked = addresses.first(where: { isPrivate($0.bytes) }) {
            throw DomainError.invalidArgument(
                "url's host \(host) resolves to \(blocked.text), a loopback, private, link-local or metadata address; webhooks go to the internet only (unless --webhooks-allow-private)")
        }
        let chosen = addresses[0]
        var probe = [UInt8](repeating: 0, count: 16)
        let isLiteral = inet_pton(AF_INET, bare, &probe) == 1 || inet_pton(AF_INET6, bare, &probe) == 1
        return Target(host: bare, port: port, address: chosen.bytes.count == 16 ? "[\(chosen.text)]" : chosen.text, isLiteral: isLiteral)
    }

    private static func resolve(_ host: String, port: Int) throws -> [(text: String, bytes: [UInt8])] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var found: [(String, [UInt8])] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            if current.pointee.ai_family == AF_INET {
                var bytes = current.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                inet_ntop(AF_INET, &bytes, &text, socklen_t(text.count))
                found.append((String(cString: text), withUnsafeBytes(of: bytes) { Array($0) }))
            } else if current.pointee.ai_family == AF_INET6 {
                var bytes = current.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
                found.append((String(cString: text), withUnsafeBytes(of: bytes) { Array($0) }))
            }
            entry = current.pointee.ai_next
        }
        return found
    }

    /// Addresses a webhook must not reach: unspecified, loopback, private (RFC 1918, ULA),
    /// carrier-grade NAT, link-local (the cloud metadata service among them), multicast and
    /// reserved; IPv4 mapped into IPv6 is checked as IPv4.
    static func isPrivate(_ bytes: [UInt8]) -> Bool {
        if bytes.count == 16 {
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return isPrivate(Array(bytes[12..<16])) }
            if bytes.allSatisfy({ $0 == 0 }) || bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            if bytes[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique local
            if bytes[0] == 0xFE, bytes[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
            if bytes[0] == 0xFF { return true }  // multicast
            if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return true }  // documentation
            if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isPrivate(Array(bytes[12..<16])) }  // NAT64
            if bytes[0] == 0x20, bytes[1] == 0x02 { return isPrivate(Array(bytes[2..<6])) }  // 6to4
            return false
        }
        guard bytes.count == 4 else { return true }
        switch (bytes[0], bytes[1]) {
        case (0, _), (10, _), (127, _): return true
        case (100, 64...127): return true
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (192, 0) where bytes[2] == 0 || bytes[2] == 2: return true
        case (198, 18...19): return true
        case (198, 51) where bytes[2] == 100, (203, 0) where bytes[2] == 113: return true
        case (224...255, _): return true
        default: return false
        }
    }
}
