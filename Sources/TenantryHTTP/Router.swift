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
    /// The routes a path can match, by its number of segments and then its second segment
    /// (`/v1/<this>/…`), in registration order: a request tries a handful, not every route.
    private var candidates: [Int: Bucket] = [:]
    private var secondLiterals: Set<String> = []

    /// The routes of one path length: by the path's second segment, else `otherwise`.
    private struct Bucket: Sendable {
        var byLiteral: [String: [Int]]
        var otherwise: [Int]
    }

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
        index(routes.count - 1)
    }

    public func match(method: String, path: String) -> Match {
        let parts = Self.split(path)
        let lookupMethod = method == "HEAD" ? "GET" : method
        var allowed: [String] = []
        for position in candidates(for: parts) {
            let route = routes[position]
            guard let parameters = Self.bind(route.segments, to: parts) else { continue }
            if route.method == lookupMethod { return .found(route, parameters: parameters) }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private func candidates(for parts: [Substring]) -> [Int] {
        guard let bucket = candidates[parts.count] else {
            // Longer than any pattern: only a route ending in {name...} can match.
            return routes.indices.filter { Self.applies(routes[$0].segments, count: parts.count, second: parts.count > 1 ? String(parts[1]) : nil) }
        }
        if parts.count > 1, let list = bucket.byLiteral[String(parts[1])] { return list }
        return bucket.otherwise
    }

    /// Adds the route at `position` (the newest) to the candidate lists it belongs to.
    private mutating func index(_ position: Int) {
        let segments = routes[position].segments
        let older = Array(routes.indices.dropLast())
        var table = candidates
        // Buckets for paths longer than any before start with the older {name...} routes.
        for count in 0...max(segments.count, table.keys.max() ?? 0) where table[count] == nil {
            var byLiteral: [String: [Int]] = [:]
            for literal in secondLiterals { byLiteral[literal] = older.filter { Self.applies(routes[$0].segments, count: count, second: literal) } }
            table[count] = Bucket(byLiteral: byLiteral, otherwise: older.filter { Self.applies(routes[$0].segments, count: count, second: nil) })
        }
        // A second segment no route had before starts from the routes that take any.
        if segments.count > 1, case .literal(let literal) = segments[1], !secondLiterals.contains(literal) {
            secondLiterals.insert(literal)
            for count in Array(table.keys) {
                var bucket = table[count]!
                bucket.byLiteral[literal] = bucket.otherwise
                table[count] = bucket
            }
        }
        for count in Array(table.keys) {
            var bucket = table[count]!
            if Self.applies(segments, count: count, second: nil) { bucket.otherwise.append(position) }
            for literal in secondLiterals where Self.applies(segments, count: count, second: literal) { bucket.byLiteral[literal, default: []].append(position) }
            table[count] = bucket
        }
        candidates = table
    }

    /// Whether a pattern can match a path of `count` segments whose second is `second`
    /// (nil: not one of the patterns' literals, or none).
    private static func applies(_ segments: [Segment], count: Int, second: String?) -> Bool {
        if case .rest = segments.last {
            guard count >= segments.count - 1 else { return false }
        } else {
            guard count == segments.count else { return false }
        }
        guard segments.count > 1, case .literal(let literal) = segments[1] else { return true }
        return second.map { $0 == literal } ?? false
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

    /// Work that runs as a Swift task.
    public static func task(_ body: @escaping @Sendable () async throws -> Response) -> Dispatch {
        .work { respond in
            Task {
                do {
                    let response = try await body()
                    respond { response }
                } catch {
                    respond { throw error }
                }
            }
        }
    }
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
                case .offloaded(let prepare): return try prepare(request)
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
            let render = await withCheckedContinuation { (continuation: CheckedContinuation<Handler.Render, Never>) in
                work { continuation.resume(returning: $0) }
            }
            do { return try render() } catch { return renderError(error) }
        }
    }
}
