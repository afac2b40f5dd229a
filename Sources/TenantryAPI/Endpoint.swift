import TenantryCore
import TenantryHTTP

/// Who may call a route. The declaration is the enforcement: `Gate.resolve` checks it
/// before the handler runs, and the OpenAPI document is written from it.
public enum Access: Sendable, Equatable {
    case everyone
    case user
    /// A session whose current tenant grants at least this role.
    case tenant(Role)
    case operatorOnly
    case operatorOrLoopback
    /// A member's session of the tenant in the path, a key of that tenant, or an operator.
    case tenantUsage
    /// A session of an admin or owner of the tenant in the path, or an operator.
    case tenantAdmin
    /// An API key with that scope (operators pass too).
    case key(String)
    /// A session token or an API key.
    case anyCredential

    var description: String {
        switch self {
        case .everyone: "none"
        case .user: "a session token"
        case .tenant(let role): "a session whose current tenant grants at least the \(role.rawValue) role"
        case .operatorOnly: "an operator session or an operator API key"
        case .operatorOrLoopback: "an operator session or an operator API key, or a request from loopback"
        case .tenantUsage: "a session of a member of the tenant, an API key of the tenant with usage.read, or an operator"
        case .tenantAdmin: "a session of an admin or owner of the tenant, or an operator"
        case .key(let scope): "an API key of the tenant with the \(scope) scope, or an operator"
        case .anyCredential: "a session token or an API key"
        }
    }
}

/// A route with what the OpenAPI document says of it.
public struct Endpoint: Sendable {
    public enum Body: Sendable {
        case none
        case json(Schema)
        case multipart(field: String, description: String)
    }

    public enum Answer: Sendable {
        case json(Schema)
        case raw(contentType: String, description: String)
        /// A 302 to where the browser goes next (its `Location`), for browser flows.
        case redirect(description: String)
    }

    public let method: String
    public let path: String
    /// The seed's operation name where there is one.
    public let operationId: String
    public let summary: String
    public let access: Access
    public let query: [(name: String, description: String)]
    public let body: Body
    public let answer: Answer
    public let bodyLimit: Int?
    /// The route hashes or checks a password: while the hashing queue is full it is refused
    /// (429), the answer held for its Retry-After.
    public let hashesPassword: Bool
    let handler: Action

    /// What an endpoint runs, given the caller its access resolved.
    enum Action: Sendable {
        /// On the polling thread: short indexed reads only.
        case inline(@Sendable (Request, Caller) throws -> Response)
        /// After the connection is suspended, as a task: writes, hashing, anything that may take long.
        case offloaded(@Sendable (Request, Caller) async throws -> Response)
        /// The hot paths: on the polling thread, answers at once or hands over work that
        /// answers from where it finishes (a `PendingWrite` from the writer's thread), with no task.
        case staged(@Sendable (Request, Caller) throws -> Dispatch)
    }

    init(
        _ method: String, _ path: String, operationId: String, summary: String, access: Access,
        query: [(name: String, description: String)] = [], body: Body = .none, answer: Answer, bodyLimit: Int? = nil, hashesPassword: Bool = false,
        handler: Action
    ) {
        self.hashesPassword = hashesPassword
        self.method = method
        self.path = path
        self.operationId = operationId
        self.summary = summary
        self.access = access
        self.query = query
        self.body = body
        self.answer = answer
        self.bodyLimit = bodyLimit
        self.handler = handler
        if case .offloaded = handler {} else { precondition(!hashesPassword, "\(method) \(path): a route that hashes must be offloaded") }
    }
}

extension Endpoint {
    /// The handler the router runs: the caller is resolved from `access` first, on the
    /// polling thread, so a refused request is answered without being suspended.
    func routed(through gate: Gate) -> Handler {
        let access = self.access
        switch handler {
        case .inline(let run):
            return .inline { request in try run(request, try gate.resolve(access, request)) }
        case .offloaded(let run):
            let hashesPassword = self.hashesPassword
            return .offloaded { request in
                let caller = try gate.resolve(access, request)
                if hashesPassword, let refusal = gate.app.hasher.refusal() {
                    // A full hashing queue means a flood: its 429 waits out its Retry-After on a
                    // suspended connection, which costs no CPU, instead of inviting the next
                    // attempt at once and taking the polling threads from every other route.
                    return .task {
                        try await Task.sleep(for: .seconds(PasswordHasher.retryAfterSeconds))
                        throw refusal
                    }
                }
                return .task { try await run(request, caller) }
            }
        case .staged(let run):
            return .offloaded { request in try run(request, try gate.resolve(access, request)) }
        }
    }
}

extension PendingWrite {
    /// Queues the write; once it commits, the writer hands `present` (or the write's error,
    /// through `mappingError`) to the server, which renders the answer on a polling thread.
    func answer(mappingError transform: @escaping @Sendable (any Error) -> any Error = { $0 }, _ present: @escaping @Sendable (Value) throws -> Response) -> Dispatch {
        .work { respond in
            then { result in respond { try present(result.mapError(transform).get()) } }
        }
    }
}

extension Response {
    /// A JSON answer.
    static func ok(_ json: JSON, status: Int = 200) -> Response {
        .json(json.bytes, status: status)
    }

    /// The seed's empty answer, `{}`.
    static var empty: Response { .ok(.object([])) }
}
