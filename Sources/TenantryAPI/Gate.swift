import TenantryCore
import TenantryHTTP

/// Resolves who is calling from a route's declared `Access`, before its handler runs: the
/// one place credentials are checked. Handlers receive the resolved `Caller`.
struct Gate: Sendable {
    let app: Tenantry

    /// The path parameter that names the tenant of `.tenantUsage`, `.tenantAdmin` and `.key` routes.
    static let tenantParameter = "tenant_id"

    func resolve(_ access: Access, _ request: Request) throws -> Caller {
        switch access {
        case .everyone:
            return Caller(credential: .none, tenantId: nil)
        case .user:
            return Caller(credential: .session(try session(request)), tenantId: nil)
        case .tenant(let role):
            let principal = try session(request)
            return Caller(credential: .session(principal), tenantId: try principal.tenant(atLeast: role))
        case .operatorOnly:
            let credential = try self.credential(request)
            guard credential.isOperator else { throw DomainError.permissionDenied("this needs an operator account") }
            return Caller(credential: credential, tenantId: nil)
        case .operatorOrLoopback:
            if request.isFromLoopback { return Caller(credential: .none, tenantId: nil) }
            return try resolve(.operatorOnly, request)
        case .tenantUsage:
            let tenantId = request.parameter(Self.tenantParameter)
            let credential = try self.credential(request)
            switch credential {
            case _ where credential.isOperator: break
            case .session(let principal):
                guard try app.tenants.role(of: principal.user.id, in: tenantId) != nil else {
                    throw DomainError.permissionDenied("you are not a member of tenant \(tenantId)")
                }
            case .key(let key):
                try Self.check(key, of: tenantId, scope: ApiKey.readScope)
            case .none:
                break
            }
            return Caller(credential: credential, tenantId: tenantId)
        case .tenantAdmin:
            let tenantId = request.parameter(Self.tenantParameter)
            let credential = try self.credential(request)
            if !credential.isOperator {
                guard case .session(let principal) = credential else {
                    throw DomainError.permissionDenied("this needs a session of an admin of tenant \(tenantId), or an operator")
                }
                guard let role = try app.tenants.role(of: principal.user.id, in: tenantId), role >= .admin else {
                    throw DomainError.permissionDenied("this needs the admin role in tenant \(tenantId)")
                }
            }
            return Caller(credential: credential, tenantId: tenantId)
        case .key(let scope):
            let tenantId = request.parameter(Self.tenantParameter)
            let credential = try self.credential(request)
            if !credential.isOperator {
                guard case .key(let key) = credential else {
                    throw DomainError.permissionDenied("this needs an API key with the \(scope) scope")
                }
                try Self.check(key, of: tenantId, scope: scope)
            }
            return Caller(credential: credential, tenantId: tenantId)
        case .anyCredential:
            let credential = try self.credential(request)
            switch credential {
            case .session(let principal):
                guard let tenantId = principal.tenantId else { throw DomainError.permissionDenied("this user belongs to no tenant") }
                return Caller(credential: credential, tenantId: tenantId)
            case .key(let key):
                return Caller(credential: credential, tenantId: key.key.tenantId)
            case .none:
                return Caller(credential: credential, tenantId: nil)
            }
        }
    }

    private static func check(_ key: KeyPrincipal, of tenantId: String, scope: String) throws {
        guard key.key.tenantId == tenantId else { throw DomainError.permissionDenied("this API key belongs to another tenant") }
        guard key.key.allows(scope) else { throw DomainError.permissionDenied("this API key lacks the \(scope) scope") }
    }

    /// A session token or an API key; a stale one is marked as used without making the caller wait.
    private func credential(_ request: Request) throws -> Caller.Credential {
        let token = try bearer(request)
        guard token.hasPrefix(ApiKey.prefix + "_") else { return .session(try session(request, token: token)) }
        let key = try app.apiKeys.authenticate(token)
        if key.isStale {
            let keys = app.apiKeys
            Task { try? await keys.touch(key.key) }
        }
        return .key(key)
    }

    private func session(_ request: Request) throws -> Principal {
        let token = try bearer(request)
        guard !token.hasPrefix(ApiKey.prefix + "_") else {
            throw DomainError.permissionDenied("this needs a user's session, not an API key")
        }
        return try session(request, token: token)
    }

    private func session(_ request: Request, token: String) throws -> Principal {
        let principal = try app.accounts.authenticate(token: token)
        if principal.isStale {
            let accounts = app.accounts
            Task { try? await accounts.touch(principal) }
        }
        return principal
    }

    private func bearer(_ request: Request) throws -> String {
        guard let token = request.bearerToken else {
            throw DomainError.unauthenticated("missing credentials: send Authorization: Bearer <token>")
        }
        return token
    }
}

/// Who is calling, as the route's access resolved them.
struct Caller: Sendable {
    enum Credential: Sendable {
        /// A public route, or `.operatorOrLoopback` from loopback.
        case none
        case session(Principal)
        case key(KeyPrincipal)

        var isOperator: Bool {
            switch self {
            case .none: false
            case .session(let principal): principal.isOperator
            case .key(let key): key.isOperator
            }
        }
    }

    let credential: Credential
    /// The tenant the access was checked against: the session's current tenant for
    /// `.tenant` and `.anyCredential`, the path's for `.tenantUsage`, `.tenantAdmin` and `.key`.
    let tenantId: String?

    /// The session of a `.user` or `.tenant` route.
    var principal: Principal {
        get throws {
            guard case .session(let principal) = credential else { throw DomainError.internalError("route reads a session its access does not resolve") }
            return principal
        }
    }

    /// The tenant of a route whose access resolves one.
    var tenant: String {
        get throws {
            guard let tenantId else { throw DomainError.internalError("route reads a tenant its access does not resolve") }
            return tenantId
        }
    }

    /// Who the audit trail names.
    var actor: AuditActor {
        switch credential {
        case .none: .system
        case .session(let principal): AuditActor(principal)
        case .key(let key): AuditActor(id: key.key.id, email: "api-key:\(key.key.keyPrefix)")
        }
    }

    /// The session's user; nil for an API key.
    var userId: String? {
        if case .session(let principal) = credential { return principal.user.id }
        return nil
    }

    var keyId: String? {
        if case .key(let key) = credential { return key.key.id }
        return nil
    }
}
