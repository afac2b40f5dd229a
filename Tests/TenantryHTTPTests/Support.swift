import Foundation
import Logging
import Synchronization
import TenantryTesting
import Testing

@testable import TenantryHTTP

#if canImport(Glibc)
    import Glibc
#endif

let quietLogger = Logger(label: "tenantry.http.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// A parsed HTTP/1.1 response as read off the wire.
struct WireResponse: Sendable {
    let status: Int
    let reason: String
    /// Header names lower-cased; repeated headers joined with ", ".
    let headers: [String: String]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
}

enum WireError: Error, CustomStringConvertible {
    case socket(String, Int32)
    case malformed(String)

    var description: String {
        switch self {
        case .socket(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .malformed(let why): "malformed response: \(why)"
        }
    }
}

/// A tiny blocking HTTP client over a plain TCP socket, run on its own thread so that it
/// never blocks the cooperative pool the server's offloaded handlers need.
enum WireClient {
    /// Sends `request` (raw bytes, in `chunks` written one after another) and reads the whole
    /// response until the server closes the connection. The wait is long: with the whole
    /// suite running on two busy cores, an offloaded handler can wait seconds for a thread.
    static func exchange(port: UInt16, _ chunks: [[UInt8]], timeoutSeconds: Int = 30) async throws -> WireResponse {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try exchangeNow(port: port, chunks, timeoutSeconds: timeoutSeconds) })
            }
            thread.start()
        }
    }

    static func exchange(port: UInt16, _ request: [UInt8], timeoutSeconds: Int = 10) async throws -> WireResponse {
        try await exchange(port: port, [request], timeoutSeconds: timeoutSeconds)
    }

    static func exchange(port: UInt16, _ request: String, timeoutSeconds: Int = 10) async throws -> WireResponse {
        try await exchange(port: port, [Array(request.utf8)], timeoutSeconds: timeoutSeconds)
    }

    /// A request with `Connection: close`, so the response ends with the connection.
    static func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + (body ?? [])
    }

    /// A `Transfer-Encoding: chunked` request whose body is sent in `pieces`.
    static func chunkedRequest(_ method: String, _ target: String, pieces: [[UInt8]]) -> [[UInt8]] {
        var chunks: [[UInt8]] = [Array("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)]
        for piece in pieces {
            chunks.append(Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8))
        }
        chunks.append(Array("0\r\n\r\n".utf8))
        return chunks
    }

    private static func exchangeNow(port: UInt16, _ chunks: [[UInt8]], timeoutSeconds: Int) throws -> WireResponse {
        try parse(receiveAll(port: port, chunks, timeoutSeconds: timeoutSeconds))
    }

    private static func receiveAll(port: UInt16, _ chunks: [[UInt8]], timeoutSeconds: Int) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WireError.socket("socket", errno) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw WireError.socket("connect", errno) }
        for chunk in chunks {
            var offset = 0
            while offset < chunk.count {
                let sent = chunk[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { throw WireError.socket("send", errno) }
                offset += sent
            }
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0 {
                // A reset after a complete response still leaves a usable answer.
                if errno == ECONNRESET, !received.isEmpty { break }
                throw WireError.socket("recv", errno)
            }
            received += buffer[0..<count]
        }
        return received
    }

    /// Sends raw bytes and answers everything the server sent until it closed the connection.
    static func raw(port: UInt16, _ chunks: [[UInt8]], timeoutSeconds: Int = 10) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try receiveAll(port: port, chunks, timeoutSeconds: timeoutSeconds) })
            }.start()
        }
    }

    /// Splits responses sent one after another on a keep-alive connection (by Content-Length).
    static func parseSequence(_ bytes: [UInt8]) throws -> [WireResponse] {
        var responses: [WireResponse] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let chunk = Array(rest)
            guard let end = (0..<max(0, chunk.count - 3)).first(where: { chunk[$0] == 13 && chunk[$0 + 1] == 10 && chunk[$0 + 2] == 13 && chunk[$0 + 3] == 10 }) else {
                throw WireError.malformed("no end of headers")
            }
            let head = try parse(Array(chunk[0..<(end + 4)]))
            guard let length = head.headers["content-length"].flatMap({ Int($0) }) else { throw WireError.malformed("no Content-Length") }
            responses.append(try parse(Array(chunk[0..<(end + 4 + length)])))
            rest = rest.dropFirst(end + 4 + length)
        }
        return responses
    }

    static func parse(_ bytes: [UInt8]) throws -> WireResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0...(max(0, bytes.count - 4))).first(where: { bytes.count >= $0 + 4 && Array(bytes[$0..<($0 + 4)]) == separator }) else {
            throw WireError.malformed("no end of headers in \(bytes.count) bytes")
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw WireError.malformed(head[0]) }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
        return WireResponse(status: status, reason: statusParts.count > 2 ? String(statusParts[2]) : "", headers: headers, body: body)
    }

    private static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else {
                throw WireError.malformed("bad chunk")
            }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw WireError.malformed("chunk size \(sizeText)") }
            if size == 0 { return output }
            output += bytes[(lineEnd + 2)..<(lineEnd + 2 + size)]
            index = lineEnd + 2 + size + 2
        }
    }
}

/// A one-shot signal that async code can wait for without blocking a thread.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init() {}

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state -> Bool in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }

    var hasFired: Bool { state.withLock { $0.fired } }
}

/// A value that concurrent code can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout sending Value) -> sending T) -> T { mutex.withLock(body) }

    var value: Value { mutex.withLock { $0 } }
}

/// Runs blocking `work` on its own thread and waits for it without holding a pool thread.
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

/// The error renderer tests give the server: a status per error, the error in the body.
let testErrorRenderer: Server.ErrorRenderer = { error in
    switch error {
    case HTTPError.routeNotFound(let method, let path):
        return .text("no route for \(method) \(path)", status: 404)
    case HTTPError.methodNotAllowed(let method, _, let allowed):
        return .text("\(method) not allowed; use \(allowed.joined(separator: ","))", status: 405)
    case HTTPError.bodyTooLarge(let limit):
        return .text("body over \(limit) bytes", status: 413)
    case HTTPError.malformedMultipart(let why):
        return .text(why, status: 400)
    case HTTPError.shuttingDown:
        return .text("shutting down", status: 503)
    default:
        return .text("failed: \(error)", status: 500)
    }
}

/// Starts a server on an ephemeral loopback port, runs `body`, and shuts it down.
func withServer<T>(_ router: Router, _ body: (Server) async throws -> T) async throws -> T {
    let server = Server(
        configuration: .init(host: "127.0.0.1", port: 0, threadPoolSize: 2, connectionTimeoutSeconds: 10),
        router: router, logger: quietLogger, renderError: testErrorRenderer
    )
    try server.start()
    do {
        let result = try await body(server)
        await onThread { server.shutdown(timeout: .seconds(5)) }
        return result
    } catch {
        await onThread { server.shutdown(timeout: .seconds(5)) }
        throw error
    }
}
