import TenantryHTTP

/// Who may call a route.
public enum Access: Sendable, Equatable {
    case everyone
    case user
    case tenant(String)
    case operatorOnly
    case operatorOrLoopback
    /// A member's session of the tenant in the path, a key of that tenant, or an operator.
    case tenantUsage
    /// An API key with that scope (operators pass too).
    case key(String)
    /// A session token or an API key.
    case anyCredential

    var description: String {
        switch self {
        case .everyone: "none"
        case .user: "a session token"
        case .tenant(let role): "a session whose current tenant grants at least the \(role) role"
        case .operatorOnly: "an operator session or an operator API key"
        case .operatorOrLoopback: "an operator session, or a request from loopback"
        case .tenantUsage: "a session of a member of the tenant, an API key of the tenant with usage.read, or an operator"
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
    public let handler: Handler

    public init(
        _ method: String, _ path: String, operationId: String, summary: String, access: Access,
        query: [(name: String, description: String)] = [], body: Body = .none, answer: Answer, bodyLimit: Int? = nil, handler: Handler
    ) {
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
