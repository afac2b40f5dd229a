/// Matches a method and path to a route. Patterns are literal segments, `{name}`
/// segments that capture one segment, and a final `{name...}` that captures the rest.
public struct Router: Sendable {
    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        public let handler: Handler
        /// The largest request body this route accepts, in bytes.
        public let bodyLimit: Int
        fileprivate let segments: [Segment]
    }

    public enum Match: Sendable {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound

        public var route: Route? {
            if case .found(let route, _) = self { return route }
            return nil
        }
    }

    fileprivate enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    public private(set) var routes: [Route] = []
    public let defaultBodyLimit: Int

    public init(defaultBodyLimit: Int = 1 << 20) {
        self.defaultBodyLimit = defaultBodyLimit
    }

    public mutating func add(_ method: String, _ pattern: String, bodyLimit: Int? = nil, _ handler: Handler) {
        let segments = Self.split(pattern).map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") { return .rest(String(part.dropFirst().dropLast(4))) }
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(String(part))
        }
        precondition(
            !routes.contains { $0.method == method && $0.segments == segments },
            "route \(method) \(pattern) registered twice"
        )
        routes.append(Route(method: method, pattern: pattern, handler: handler, bodyLimit: bodyLimit ?? defaultBodyLimit, segments: segments))
    }

    public func match(method: String, path: String) -> Match {
        let parts = Self.split(path)
        let lookupMethod = method == "HEAD" ? "GET" : method
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.bind(route.segments, to: parts) else { continue }
            if route.method == lookupMethod { return .found(route, parameters: parameters) }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func bind(_ segments: [Segment], to parts: [Substring]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .rest(let name):
                parameters[name] = parts.dropFirst(index).joined(separator: "/")
                return parameters
            case .literal(let literal):
                guard index < parts.count, parts[index] == literal else { return nil }
            case .parameter(let name):
                guard index < parts.count else { return nil }
                parameters[name] = String(parts[index])
            }
        }
        return parts.count == segments.count ? parameters : nil
    }
}

/// What the server does with a request once its body is in: answer it at once (unmatched,
/// inline, or refused by an offloaded handler's first step), or run work after suspending.
/// The server and `respond(to:)` share it, so tests without a socket see what clients see.
public enum Dispatch: Sendable {
    case answer(Response)
    case work(Handler.Work)
}

extension Router {
    public func dispatch(_ match: Match, _ request: Request, renderError: Server.ErrorRenderer) -> Dispatch {
        switch match {
        case .notFound:
            return .answer(renderError(HTTPError.routeNotFound(method: request.method, path: request.path)))
        case .methodNotAllowed(let allowed):
            var response = renderError(HTTPError.methodNotAllowed(method: request.method, path: request.path, allowed: allowed))
            response.setHeader("Allow", allowed.joined(separator: ", "))
            return .answer(response)
        case .found(let route, let parameters):
            var request = request
            request.pathParameters = parameters
            request.route = route.pattern
            do {
                switch route.handler {
                case .inline(let handler): return .answer(try handler(request))
                case .offloaded(let prepare): return .work(try prepare(request))
                }
            } catch {
                return .answer(renderError(error))
            }
        }
    }

    /// Answers a request without a socket, as the server would: for tests and tools.
    public func respond(to request: Request, renderError: Server.ErrorRenderer) async -> Response {
        switch dispatch(match(method: request.method, path: request.path), request, renderError: renderError) {
        case .answer(let response): return response
        case .work(let work):
            do { return try await work() } catch { return renderError(error) }
        }
    }
}
