import TenantryCore
import TenantryHTTP

/// The members of the caller's current tenant.
extension RouteBuilder {
    var tenantEndpoints: [Endpoint] {
        let tenants = app.tenants
        return [
            Endpoint(
                "GET", "/v1/tenant/members", operationId: "UserTenantMemberList",
                summary: "Members of the current tenant, then its pending invitations (status INVITED).", access: .tenant(.member),
                answer: .json(.object([("members", .array(.reference("Member")))])),
                handler: .inline { request, caller in
                    .ok(["members": .array(try tenants.members(try caller.principal).map(Present.member))])
                }
            ),
            Endpoint(
                "POST", "/v1/tenant/members/invite", operationId: "UserTenantMemberInviteByEmail",
                summary: "Invites addresses by email, one result each; only an owner invites an owner.", access: .tenant(.admin),
                body: .json(.object([("members", .array(.object([("email", .string()), ("role", .cases(of: Role.self))])))])),
                answer: .json(.object([("rets", .array(.reference("InviteResult")))])),
                handler: .offloaded { request, caller in
                    let principal = try caller.principal
                    let requests = try request.jsonBody().objects("members").map {
                        TenantService.InviteRequest(email: try $0.string("email"), role: try $0.string("role"))
                    }
                    let results = try await tenants.invite(principal, requests)
                    return .ok([
                        "rets": .array(
                            results.map { result in
                                [
                                    "status": .string(result.status), "email": .string(result.email),
                                    "message": .string(result.message), "invited_url": .string(result.invitedURL),
                                ]
                            })
                    ])
                }
            ),
            Endpoint(
                "POST", "/v1/tenant/members/delete", operationId: "UserTenantMemberDelete",
                summary: "Removes a member, or withdraws a pending invitation; never the last owner.", access: .tenant(.admin),
                body: .json(.object([("email", .string())])), answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await tenants.removeMember(try caller.principal, email: try request.jsonBody().string("email"))
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/tenant/members/role", operationId: "UserTenantMemberUpdateRole",
                summary: "Changes a member's role; only owners make or unmake owners, and one always remains.", access: .tenant(.admin),
                body: .json(.object([("email", .string()), ("role", .cases(of: Role.self))])), answer: .json(.empty),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    try await tenants.changeRole(try caller.principal, email: try body.string("email"), role: try body.string("role"))
                    return .empty
                }
            ),
        ]
    }
}
