import TenantryCore
import TenantryHTTP

/// The seed's operations that belong to a platform Tenantry is not (WATI's, with Dify behind
/// it): each is routed and documented with the seed's fields, and answers code 12 (HTTP 501)
/// saying what Tenantry offers instead, rather than a 404 a client would take for a typo.
extension RouteBuilder {
    var platformEndpoints: [Endpoint] {
        [
            Endpoint(
                "POST", "/v1/account/session", operationId: "Session",
                summary: "The seed's session exchange for Dify's OAuth service: code 12 (Tenantry has no Dify service).", access: .everyone,
                body: .json(
                    .object([
                        ("email", .string()), ("access_token", .string()), ("refresh_token", .string()), ("from_link", .string()), ("country", .string()),
                        ("provider", .string()), ("extra", .string()),
                    ])),
                answer: .json(.object([("token", .string()), ("is_initialized", .boolean())])),
                handler: .inline { _, _ in
                    throw DomainError.unimplemented(
                        "Tenantry has no Dify OAuth service to exchange sessions with: sign in with POST /v1/account/login, or through an OpenID provider (serve --oidc-providers-file)")
                }
            ),
            Endpoint(
                "GET", "/v1/user/tenants/{tenant_id}/wati", operationId: "GetTenantWatiUserInfo",
                summary: "The seed's WATI account of a tenant: code 12 (Tenantry is not connected to WATI).", access: .everyone,
                answer: .json(.object([("wati_email", .string()), ("wati_tenant", .string()), ("wati_long_life_token", .string())])),
                handler: .inline { _, _ in
                    throw DomainError.unimplemented(
                        "Tenantry is not connected to a WATI platform, so a tenant has no WATI account; the tenant's own data is at GET /v1/user/tenants/current")
                }
            ),
        ]
    }
}
