import TenantryCore
import TenantryHTTP

/// Resolves the credentials of a request (a session token or an API key) and checks what
/// the caller may do.
struct Gate: Sendable {
    let app: Tenantry

    /// Whoever presented a bearer credential.
    enum Caller: Sendable {
        case session(Principal)
        case key(KeyPrincipal)

        var actor: Actor {
            switch self {
            case .session(let principal): Actor(principal)
            case .key(let key): Actor(id: key.key.id, email: "api-key:\(key.key.keyPrefix)")
            }
        }

        var isOperator: Bool {
            switch self {
            case .session(let principal): principal.isOperator
            case .key(let key): key.isOperator
            }
        }
    }

    func caller(_ request: Request) throws -> Caller {
        let token = try bearer(request)
        if token.hasPrefix(ApiKey.prefix + "_") {
            let key = try app.apiKeys.authenticate(token)
            if key.isStale {
                let keys = app.apiKeys
                Task { try? await keys.touch(key.key) }
            }
            return .key(key)
        }
        return .session(try user(request, token: token))
    }

    /// The caller's open session; a stale one is marked as used without making the caller wait.
    func user(_ request: Request) throws -> Principal {
        try user(request, token: try bearer(request))
    }

    private func bearer(_ request: Request) throws -> String {
        guard let token = request.bearerToken else {
            throw DomainError.unauthenticated("missing credentials: send Authorization: Bearer <token>")
        }
        return token
    }

    private func user(_ request: Request, token: String) throws -> Principal {
        guard !token.hasPrefix(ApiKey.prefix + "_") else {
            throw DomainError.permissionDenied("this needs a user's session, not an API key")
        }
        let principal = try app.accounts.authenticate(token: token)
        if principal.isStale {
            let accounts = app.accounts
            Task { try? await accounts.touch(principal) }
        }
        return principal
    }

    /// The caller and its current tenant, where it holds at least `role`.
    func tenant(_ request: Request, atLeast role: Role) throws -> (Principal, String) {
        let principal = try user(request)
        return (principal, try principal.tenant(atLeast: role))
    }

    /// An operator session or an operator API key.
    func operatorCaller(_ request: Request) throws -> Actor {
        let caller = try caller(request)
        guard caller.isOperator else { throw DomainError.permissionDenied("this needs an operator account") }
        return caller.actor
    }

    func operatorSession(_ request: Request) throws -> Principal {
        let principal = try user(request)
        guard principal.isOperator else { throw DomainError.permissionDenied("this needs an operator account") }
        return principal
    }

    /// Access to one tenant's usage: a member's session, a key of that tenant with `scope`,
    /// or an operator.
    func tenantUsage(_ request: Request, tenantId: String, scope: String) throws -> Caller {
        let caller = try caller(request)
        if caller.isOperator { return caller }
        switch caller {
        case .session(let principal):
            guard try app.tenants.role(of: principal.user.id, in: tenantId) != nil else {
                throw DomainError.permissionDenied("you are not a member of tenant \(tenantId)")
            }
        case .key(let key):
            guard key.key.tenantId == tenantId else { throw DomainError.permissionDenied("this API key belongs to another tenant") }
            guard key.key.allows(scope) else { throw DomainError.permissionDenied("this API key lacks the \(scope) scope") }
        }
        return caller
    }

    /// Debiting a tenant's credits: a key of that tenant with `usage.write`, or an operator.
    func consumer(_ request: Request, tenantId: String) throws -> Caller {
        let caller = try caller(request)
        if caller.isOperator { return caller }
        guard case .key(let key) = caller else {
            throw DomainError.permissionDenied("consuming credits needs an API key with the usage.write scope")
        }
        guard key.key.tenantId == tenantId else { throw DomainError.permissionDenied("this API key belongs to another tenant") }
        guard key.key.allows("usage.write") else { throw DomainError.permissionDenied("this API key lacks the usage.write scope") }
        return caller
    }
}
