import Dispatch
import Foundation
import TenantryAPI

/// An answer as the client read it off the wire.
public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names are lower-cased.
    public let headers: [String: String]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func json() throws -> JSON { try JSONParser.parse(body) }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

public struct HTTPClientError: Error, CustomStringConvertible {
    public let description: String
}

/// A deliberately plain HTTP/1.1 client over a blocking socket (one connection per
/// request), so tests can send exactly the bytes they mean, malformed ones included.
/// The blocking I/O runs on a thread of its own: on Linux both Swift's cooperative pool
/// and GCD's global queues are as wide as the cores, and the server's offloaded handlers
/// need them.
public struct HTTPClient: Sendable {
    public let host: String
    public let port: UInt16

    public init(host: String = "127.0.0.1", port: UInt16) {
        self.host = host
        self.port = port
    }

    public func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [], chunked: Bool = false
    ) async throws -> HTTPResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var payload: [UInt8]
        if chunked {
            head += "Transfer-Encoding: chunked\r\n\r\n"
            payload = Array(head.utf8)
            var offset = 0
            while offset < body.count {
                let chunk = body[offset..<min(body.count, offset + 65_536)]
                payload += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10]
                offset += chunk.count
            }
            payload += Array("0\r\n\r\n".utf8)
        } else {
            if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
            payload = Array((head + "\r\n").utf8) + body
        }
        let request = payload
        let host = self.host
        let port = self.port
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.exchange(request, host: host, port: port) })
            }.start()
        }
    }

    private static func exchange(_ request: [UInt8], host: String, port: UInt16) throws -> HTTPResponse {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError(description: "socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HTTPClientError(description: "cannot connect to \(host):\(port)") }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            // The server may answer and close before it has read everything (body too large).
            if n <= 0 { break }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return try parse(received)
    }

    private static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        guard let end = find([13, 10, 13, 10], in: bytes) else {
            throw HTTPClientError(description: "no complete answer (\(bytes.count) bytes received)")
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw HTTPClientError(description: "bad status line: \(head[0])")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded: [UInt8] = []
            var index = 0
            while let lineEnd = find([13, 10], in: Array(body[index...])) {
                let size = Int(String(decoding: body[index..<(index + lineEnd)], as: UTF8.self), radix: 16) ?? 0
                index += lineEnd + 2
                if size == 0 { break }
                decoded += body[index..<(index + size)]
                index += size + 2
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap(Int.init) {
            body = Array(body.prefix(length))
        }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
