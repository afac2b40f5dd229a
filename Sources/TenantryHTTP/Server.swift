import CMicroHTTPD
import Foundation
import Logging
import Synchronization

/// The HTTP server: libmicrohttpd with its own epoll thread pool. Inline routes answer on
/// the polling thread; offloaded routes suspend the connection, run as a task, and resume
/// it with their response, so no slow work ever holds a polling thread.
public final class Server: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: UInt16
        public var threadPoolSize: Int
        /// Idle seconds after which a connection is closed (slowloris protection).
        public var connectionTimeoutSeconds: Int
        public var connectionLimit: Int
        /// Per-connection memory for headers and buffered uploads.
        public var connectionMemoryLimit: Int
        /// Proxies whose forwarding headers name the real client.
        public var trustedProxies: TrustedProxies

        public init(
            host: String = "127.0.0.1", port: UInt16 = 8080,
            threadPoolSize: Int = ProcessInfo.processInfo.activeProcessorCount,
            connectionTimeoutSeconds: Int = 30, connectionLimit: Int = 4096, connectionMemoryLimit: Int = 64 * 1024,
            trustedProxies: TrustedProxies = .loopback
        ) {
            self.host = host
            self.port = port
            self.threadPoolSize = threadPoolSize
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.connectionLimit = connectionLimit
            self.connectionMemoryLimit = connectionMemoryLimit
            self.trustedProxies = trustedProxies
        }
    }

    /// Turns any error (the server's own `HTTPError`s and whatever handlers throw) into a response.
    public typealias ErrorRenderer = @Sendable (any Error) -> Response

    public let configuration: Configuration
    public let router: Router
    public let metrics: HTTPMetrics
    private let renderError: ErrorRenderer
    private let logger: Logger
    private var daemon: OpaquePointer?
    private let activeRequests = Atomic<Int>(0)
    private let suspensions = Mutex(Suspensions())
    public private(set) var port: UInt16 = 0

    public init(configuration: Configuration, router: Router, metrics: HTTPMetrics = HTTPMetrics(), logger: Logger, renderError: @escaping ErrorRenderer) {
        self.configuration = configuration
        self.router = router
        self.metrics = metrics
        self.logger = logger
        self.renderError = renderError
    }

    public func start() throws {
        precondition(daemon == nil, "server already started")
        var flags = UInt32(MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue | MHD_USE_TURBO.rawValue)
        flags |= UInt32(MHD_ALLOW_SUSPEND_RESUME.rawValue) | UInt32(MHD_USE_ERROR_LOG.rawValue)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let started: OpaquePointer? = try SocketAddress.resolve(host: configuration.host, port: configuration.port) { address, isIPv6 in
            tenantry_mhd_start(
                flags | (isIPv6 ? UInt32(MHD_USE_IPv6.rawValue) : 0), address,
                accessHandler, context, completionHandler, context,
                UInt32(max(1, configuration.threadPoolSize)), UInt32(configuration.connectionTimeoutSeconds),
                UInt32(configuration.connectionLimit), configuration.connectionMemoryLimit
            )
        }
        guard let started else {
            throw ServerError.cannotListen("\(configuration.host):\(configuration.port)", errno: errno)
        }
        daemon = started
        port = tenantry_mhd_bound_port(started)
    }

    /// Stops accepting connections, lets requests in flight finish (up to `timeout`), answers
    /// those still suspended with 503, then stops. No task touches the daemon after that.
    public func shutdown(timeout: Duration = .seconds(10)) {
        guard let daemon else { return }
        let listener = MHD_quiesce_daemon(daemon)
        if listener >= 0 { close(listener) }
        let clock = ContinuousClock()
        waitForRequests(until: clock.now.advanced(by: timeout))
        let abandoned = suspensions.withLock { state -> Int in
            state.stopping = true
            let open = state.open
            state.open = [:]
            let unavailable = renderError(HTTPError.shuttingDown)
            for connection in open.values {
                connection.exchange.deferResponse { unavailable }
                MHD_resume_connection(connection.pointer)
            }
            return open.count
        }
        if abandoned > 0 {
            logger.warning("answered 503 to requests whose work had not finished at shutdown", metadata: ["requests": "\(abandoned)"])
            // libmicrohttpd writes those answers on its own threads: give it a moment.
            waitForRequests(until: clock.now.advanced(by: .seconds(2)))
        }
        let unfinished = activeRequests.load(ordering: .acquiring)
        if unfinished > 0 {
            logger.warning("stopping with requests still in flight", metadata: ["requests": "\(unfinished)"])
        }
        MHD_stop_daemon(daemon)
        self.daemon = nil
    }

    private func waitForRequests(until deadline: ContinuousClock.Instant) {
        while activeRequests.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    public var requestsInFlight: Int { activeRequests.load(ordering: .relaxed) }

    // MARK: - libmicrohttpd callbacks

    fileprivate func handle(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>,
        state: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let raw = state.pointee else {
            // First call: headers are in, the body (if any) is not.
            let exchange = Exchange(method: String(cString: method), path: String(cString: url))
            exchange.match = router.match(method: exchange.method, path: exchange.path)
            exchange.bodyLimit = exchange.match.route?.bodyLimit ?? router.defaultBodyLimit
            exchange.route = exchange.match.route?.pattern ?? ""
            state.pointee = Unmanaged.passRetained(exchange).toOpaque()
            activeRequests.add(1, ordering: .relaxed)
            if let declared = lookup(connection, .HEADER_KIND, "Content-Length").flatMap(Int.init), declared > exchange.bodyLimit {
                return queue(renderError(HTTPError.bodyTooLarge(limit: exchange.bodyLimit)), on: connection, for: exchange)
            }
            return .YES
        }
        let exchange = Unmanaged<Exchange>.fromOpaque(raw).takeUnretainedValue()
        if let render = exchange.takeDeferredResponse() {
            let response: Response
            do { response = try render() } catch { response = renderError(error) }
            return queue(response, on: connection, for: exchange)
        }
        if exchange.responded {
            uploadDataSize.pointee = 0
            return .YES
        }
        if uploadDataSize.pointee > 0 {
            let size = uploadDataSize.pointee
            uploadDataSize.pointee = 0
            guard exchange.overflow == 0, exchange.body.count + size <= exchange.bodyLimit else {
                // libmicrohttpd cannot answer in the middle of an upload of unknown length:
                // drop the rest and answer at its end, unless the client streams on and on.
                exchange.body = []
                exchange.overflow += size
                return exchange.overflow > 16 * max(exchange.bodyLimit, 1 << 16) ? .NO : .YES
            }
            uploadData!.withMemoryRebound(to: UInt8.self, capacity: size) {
                exchange.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size))
            }
            return .YES
        }
        if exchange.overflow > 0 {
            return queue(renderError(HTTPError.bodyTooLarge(limit: exchange.bodyLimit)), on: connection, for: exchange)
        }
        return dispatch(exchange, connection: connection)
    }

    private func dispatch(_ exchange: Exchange, connection: OpaquePointer) -> MHD_Result {
        let headers = values(connection, .HEADER_KIND, lowercased: true)
        let request = Request(
            method: exchange.method, path: exchange.path,
            query: values(connection, .GET_ARGUMENT_KIND, lowercased: false), headers: headers, body: exchange.body,
            clientAddress: configuration.trustedProxies.clientAddress(peer: clientAddress(connection), forwardedFor: headers["x-forwarded-for"], realIP: headers["x-real-ip"])
        )
        exchange.body = []
        let work: Handler.Work
        switch router.dispatch(exchange.match, request, renderError: renderError) {
        case .answer(let response): return queue(response, on: connection, for: exchange)
        case .work(let offloaded): work = offloaded
        }
        let stopping = suspensions.withLock { state -> Bool in
            guard !state.stopping else { return true }
            MHD_suspend_connection(connection)
            state.open[ObjectIdentifier(exchange)] = SuspendedConnection(pointer: connection, exchange: exchange)
            return false
        }
        if stopping { return queue(renderError(HTTPError.shuttingDown), on: connection, for: exchange) }
        work { render in self.resume(exchange, with: render) }
        return .YES
    }

    /// Resumes a suspended connection with its answer, unless shutdown already answered it:
    /// the lock keeps late work (a task, the writer) from touching a stopped daemon.
    private func resume(_ exchange: Exchange, with render: @escaping Handler.Render) {
        suspensions.withLock { state in
            guard let connection = state.open.removeValue(forKey: ObjectIdentifier(exchange)) else { return }
            exchange.deferResponse(render)
            MHD_resume_connection(connection.pointer)
        }
    }

    private func queue(_ response: Response, on connection: OpaquePointer, for exchange: Exchange) -> MHD_Result {
        exchange.responded = true
        let handle = response.body.withUnsafeBytes { bytes in
            MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
        }
        guard let handle else { return .NO }
        for (name, value) in response.headers {
            MHD_add_response_header(handle, name, value)
        }
        let result = MHD_queue_response(connection, UInt32(response.status), handle)
        MHD_destroy_response(handle)
        metrics.record(method: exchange.method, route: exchange.route, status: response.status, seconds: exchange.elapsedSeconds)
        return result
    }

    fileprivate func completed(state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) {
        guard let state, let raw = state.pointee else { return }
        Unmanaged<Exchange>.fromOpaque(raw).release()
        state.pointee = nil
        activeRequests.subtract(1, ordering: .releasing)
    }

    private func lookup(_ connection: OpaquePointer, _ kind: MHD_ValueKind, _ key: String) -> String? {
        MHD_lookup_connection_value(connection, kind, key).map { String(cString: $0) }
    }

    private func values(_ connection: OpaquePointer, _ kind: MHD_ValueKind, lowercased: Bool) -> [String: String] {
        final class Collector {
            var values: [String: String] = [:]
            var lowercased = false
        }
        let collector = Collector()
        collector.lowercased = lowercased
        _ = withExtendedLifetime(collector) {
            MHD_get_connection_values(
                connection, kind,
                { context, _, key, value in
                    let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
                    guard let key else { return .YES }
                    let name = collector.lowercased ? asciiLowercased(key) : String(cString: key)
                    collector.values[name] = value.map { String(cString: $0) } ?? ""
                    return .YES
                }, Unmanaged.passUnretained(collector).toOpaque())
        }
        return collector.values
    }

    private func clientAddress(_ connection: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard tenantry_mhd_client_address(connection, &buffer, socklen_t(buffer.count)) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(String, errno: Int32)
    case badAddress(String)

    public var description: String {
        switch self {
        case .cannotListen(let address, let code): "cannot listen on \(address): \(String(cString: strerror(code)))"
        case .badAddress(let address): "not an IP address: \(address)"
        }
    }
}

/// The state of one request between libmicrohttpd's calls, owned through `con_cls`.
private final class Exchange: @unchecked Sendable {
    let method: String
    let path: String
    var route = ""
    var match: Router.Match = .notFound
    var body: [UInt8] = []
    /// Bytes received past the body limit, dropped.
    var overflow = 0
    var responded = false
    private let deferred = Mutex<Handler.Render?>(nil)
    private let started = ContinuousClock.now

    init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    /// The route's limit; an unmatched request's body is read (up to the default) and dropped.
    var bodyLimit = 0

    var elapsedSeconds: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func deferResponse(_ render: @escaping Handler.Render) { deferred.withLock { $0 = render } }
    func takeDeferredResponse() -> Handler.Render? {
        deferred.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

private struct SuspendedConnection: @unchecked Sendable {
    let pointer: OpaquePointer
    let exchange: Exchange
}

/// The connections suspended while their work runs; once stopping, none is suspended again.
private struct Suspensions: @unchecked Sendable {
    var open: [ObjectIdentifier: SuspendedConnection] = [:]
    var stopping = false
}

/// A header name in lower case. Names are ASCII (RFC 9110 tokens), so this skips the
/// Unicode-aware `lowercased()`, which costs an allocation per header on every request.
private func asciiLowercased(_ name: UnsafePointer<CChar>) -> String {
    let length = strlen(name)
    return name.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
        let view = UnsafeBufferPointer(start: bytes, count: length)
        guard view.contains(where: { (0x41...0x5A).contains($0) }) else { return String(decoding: view, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: length) { buffer in
            for (index, byte) in view.enumerated() { buffer[index] = (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
            return length
        }
    }
}

private let accessHandler: MHD_AccessHandlerCallback = { context, connection, url, method, _, uploadData, uploadDataSize, state in
    let server = Unmanaged<Server>.fromOpaque(context!).takeUnretainedValue()
    return server.handle(connection: connection!, url: url!, method: method!, uploadData: uploadData, uploadDataSize: uploadDataSize!, state: state!)
}

private let completionHandler: MHD_RequestCompletedCallback = { context, _, state, _ in
    let server = Unmanaged<Server>.fromOpaque(context!).takeUnretainedValue()
    server.completed(state: state)
}
