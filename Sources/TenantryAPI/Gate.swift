import TenantryCore
import TenantryHTTP

/// Resolves the credentials of a request into a principal, and checks what it may do.
struct Gate: Sendable {
    let app: Tenantry

    /// The caller's open session; a stale one is marked as used without making the caller wait.
    func user(_ request: Request) throws -> Principal {
        guard let token = request.bearerToken else {
            throw DomainError.unauthenticated("missing credentials: send Authorization: Bearer <token>")
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

    func operatorSession(_ request: Request) throws -> Principal {
        let principal = try user(request)
        guard principal.isOperator else { throw DomainError.permissionDenied("this needs an operator account") }
        return principal
    }
}
