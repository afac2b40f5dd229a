import TenantryCore
import TenantryHTTP

/// The caller's own account and their tenants.
extension RouteBuilder {
    var userEndpoints: [Endpoint] {
        let accounts = app.accounts
        let tenants = app.tenants
        return [
            Endpoint(
                "GET", "/v1/user", operationId: "UserGet",
                summary: "The caller, with the subscription of their current tenant.", access: .user,
                answer: .json(.object([("user", .reference("User"))])),
                handler: .inline { request, caller in
                    let profile = try accounts.profile(try caller.principal)
                    return .ok(["user": Present.user(profile)])
                }
            ),
            Endpoint(
                "DELETE", "/v1/user", operationId: "UserDelete",
                summary: "Deletes the caller's account; refused while they are the last owner of a tenant with other members.",
                access: .user, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await accounts.deleteUser(try caller.principal)
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/user/initial", operationId: "UserInitial",
                summary: "Sets the first password of a newly registered user; answers a fresh session token.", access: .user,
                body: .json(.object([("password", .string()), ("timezone", .string(description: "an IANA time zone, optional"))])),
                answer: .json(.object([("token", .string())])),
                hashesPassword: true,
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let token = try await accounts.initialize(
                        try caller.principal, password: try body.string("password"), timezone: try body.string("timezone"), client: request.clientAddress
                    )
                    return .ok(["token": .string(token)])
                }
            ),
            Endpoint(
                "POST", "/v1/user/name", operationId: "UserUpdateName",
                summary: "Renames the caller.", access: .user,
                body: .json(.object([("name", .string())])), answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await accounts.updateName(try caller.principal, name: try request.jsonBody().string("name"))
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/user/password", operationId: "UserUpdatePassword",
                summary: "Changes the password; the caller's other sessions end.", access: .user,
                body: .json(.object([("old_password", .string()), ("new_password", .string())])), answer: .json(.empty),
                hashesPassword: true,
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    try await accounts.updatePassword(
                        try caller.principal, old: try body.string("old_password"), new: try body.string("new_password"), client: request.clientAddress
                    )
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/user/avatar", operationId: "UserUpdateAvatar",
                summary: "Uploads the caller's picture: multipart/form-data field `file`, PNG, JPEG or WebP, at most 1 MiB.",
                access: .user, body: .multipart(field: "file", description: "the image"),
                answer: .json(.object([("thumbnail_url", .string())])),
                bodyLimit: Avatar.maximumBytes + 64 * 1024,
                handler: .offloaded { request, caller in
                    let principal = try caller.principal
                    let parts = try Multipart.parse(body: request.body, contentType: request.header("content-type"))
                    guard let file = parts.first(where: { $0.name == "file" }) else {
                        throw DomainError.invalidArgument("the multipart body has no file field")
                    }
                    let path = try await accounts.updateAvatar(principal, file: file.data)
                    return .ok(["thumbnail_url": .string(path)])
                }
            ),
            Endpoint(
                "GET", "/v1/avatars/{id}", operationId: "AvatarGet",
                summary: "A stored avatar image.", access: .everyone,
                answer: .raw(contentType: "image/*", description: "the image, as uploaded"),
                handler: .inline { request, caller in
                    guard let avatar = try accounts.avatar(id: request.parameter("id")) else {
                        throw DomainError.notFound("no avatar \(request.parameter("id"))")
                    }
                    return Response(
                        status: 200,
                        headers: [
                            ("Content-Type", avatar.contentType),
                            // A new upload gets a new id, so an avatar's bytes never change.
                            ("Cache-Control", "public, max-age=31536000, immutable"),
                            ("X-Content-Type-Options", "nosniff"),
                            ("Content-Security-Policy", "default-src 'none'; sandbox"),
                        ], body: [UInt8](avatar.data))
                }
            ),
            Endpoint(
                "GET", "/v1/user/tenants", operationId: "UserTenantList",
                summary: "The tenants the caller belongs to, paged.", access: .user,
                query: [("page", "page number, from 1 (default 1)"), ("limit", "page size, 1 to 100 (default 20)")],
                answer: .json(.object([("tenants", .array(.reference("TenantInfo"))), ("page", .reference("Page"))])),
                handler: .inline { request, caller in
                    let page = try tenants.list(try caller.principal, page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20))
                    return .ok([
                        "tenants": .array(page.items.map(Present.tenantView)),
                        "page": ["has_more": .bool(page.hasMore), "limit": .int64(page.limit), "page": .int64(page.page), "total": .int64(page.total)],
                    ])
                }
            ),
            Endpoint(
                "GET", "/v1/user/tenants/current", operationId: "UserTenantCurrentGet",
                summary: "The session's current tenant.", access: .user,
                answer: .json(.object([("tenant", .reference("TenantInfo"))])),
                handler: .inline { request, caller in
                    .ok(["tenant": Present.tenantView(try tenants.current(try caller.principal))])
                }
            ),
            Endpoint(
                "POST", "/v1/user/tenants/switch", operationId: "UserTenantSwitch",
                summary: "Makes another of the caller's tenants the session's current one.", access: .user,
                body: .json(.object([("tenant_id", .string())])),
                answer: .json(.object([("tenant_info", .reference("TenantInfo"))])),
                handler: .offloaded { request, caller in
                    let view = try await tenants.switchTenant(try caller.principal, to: try request.jsonBody().string("tenant_id"))
                    return .ok(["tenant_info": Present.tenantView(view)])
                }
            ),
        ]
    }
}
