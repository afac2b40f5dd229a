import TenantryCore
import TenantryHTTP

/// Public account routes: registration, login and sessions, forgotten passwords, invitations.
extension RouteBuilder {
    var accountEndpoints: [Endpoint] {
        let accounts = app.accounts
        let tenants = app.tenants
        return [
            Endpoint(
                "POST", "/v1/account/register", operationId: "Register",
                summary: "Emails a 6-digit code; the returned token binds it.", access: .everyone,
                body: .json(.object([("email", .string())])),
                answer: .json(.object([("redirect_url", .string()), ("token", .string())])),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let registration = try await accounts.register(email: try body.string("email"), client: request.clientAddress)
                    return .ok(["redirect_url": .string(registration.redirectURL), "token": .string(registration.token)])
                }
            ),
            Endpoint(
                "POST", "/v1/account/register/verify", operationId: "RegisterVerify",
                summary: "Checks the code; creates the user, a personal tenant and its subscription; logs in.", access: .everyone,
                body: .json(.object([("email", .string()), ("code", .string()), ("token", .string()), ("from_link", .string()), ("country", .string())])),
                answer: .json(.object([("token", .string()), ("is_initialized", .boolean())])),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let verified = try await accounts.verifyRegistration(
                        email: try body.string("email"), code: try body.string("code"), token: try body.string("token"),
                        fromLink: try body.string("from_link"), country: try body.string("country"), client: request.clientAddress
                    )
                    return .ok(["token": .string(verified.token), "is_initialized": .bool(verified.isInitialized)])
                }
            ),
            Endpoint(
                "POST", "/v1/account/login", operationId: "Login",
                summary: "Logs in with email and password; an operator with a second factor gets a challenge for POST /v1/account/login/2fa instead of a token.",
                access: .everyone,
                body: .json(.object([("email", .string()), ("password", .string())])),
                answer: .json(
                    .object([
                        ("token", .string(description: "empty when a second factor is asked for")),
                        ("mfa_required", .boolean()), ("mfa_token", .string(description: "the challenge for POST /v1/account/login/2fa, valid 5 minutes; else empty")),
                    ])),
                hashesPassword: true,
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    switch try await accounts.login(email: try body.string("email"), password: try body.string("password"), client: request.clientAddress) {
                    case .session(let token): return .ok(["token": .string(token), "mfa_required": false, "mfa_token": ""])
                    case .secondFactor(let challenge): return .ok(["token": "", "mfa_required": true, "mfa_token": .string(challenge)])
                    }
                }
            ),
            Endpoint(
                "POST", "/v1/account/login/2fa", operationId: "LoginSecondFactor",
                summary: "The second step of an operator's login: the challenge and a code from the authenticator app, or a recovery code (each works once).",
                access: .everyone, body: .json(.object([("mfa_token", .string()), ("code", .string(description: "6 digits, or a recovery code xxxxx-xxxxx"))])),
                answer: .json(.object([("token", .string())])),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let token = try await accounts.completeLogin(challenge: try body.string("mfa_token"), code: try body.string("code"), client: request.clientAddress)
                    return .ok(["token": .string(token)])
                }
            ),
            Endpoint(
                "POST", "/v1/account/logout", operationId: "Logout",
                summary: "Ends this session.", access: .user,
                body: .json(.empty), answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await accounts.logout(try caller.principal)
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/account/token/refresh", operationId: "TokenRefresh",
                summary: "Exchanges an open (or recently ended) session token for a new one; the old one stops working.", access: .everyone,
                body: .json(.object([("token", .string(description: "the old session token"))])),
                answer: .json(.object([("new_token", .string())])),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let token = try await accounts.refresh(token: try body.string("token"), client: request.clientAddress)
                    return .ok(["new_token": .string(token)])
                }
            ),
            Endpoint(
                "POST", "/v1/account/password/forgot", operationId: "ForgotPassword",
                summary: "Emails a reset code if the address has an account; answers the same either way.", access: .everyone,
                body: .json(.object([("email", .string())])),
                answer: .json(.object([("token", .string())])),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let token = try await accounts.forgotPassword(email: try body.string("email"), client: request.clientAddress)
                    return .ok(["token": .string(token)])
                }
            ),
            Endpoint(
                "POST", "/v1/account/password/forgot/verify", operationId: "ForgotPasswordVerify",
                summary: "Checks a reset code; a right one is exchanged for a reset token (new_token).", access: .everyone,
                body: .json(.object([("email", .string()), ("code", .string()), ("token", .string())])),
                answer: .json(.object([("redirect_url", .string()), ("is_valid", .boolean()), ("email", .string()), ("new_token", .string())])),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let check = try await accounts.verifyForgotPassword(email: try body.string("email"), code: try body.string("code"), token: try body.string("token"))
                    return .ok([
                        "redirect_url": .string(check.redirectURL), "is_valid": .bool(check.isValid),
                        "email": .string(check.email), "new_token": .string(check.newToken),
                    ])
                }
            ),
            Endpoint(
                "POST", "/v1/account/password/forgot/reset", operationId: "ForgotPasswordReset",
                summary: "Sets a new password with the reset token; ends every session of the user.", access: .everyone,
                body: .json(.object([("token", .string()), ("new_password", .string()), ("password_confirm", .string())])),
                answer: .json(.empty),
                hashesPassword: true,
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    try await accounts.resetPassword(
                        token: try body.string("token"), newPassword: try body.string("new_password"), confirmation: try body.string("password_confirm")
                    )
                    return .empty
                }
            ),
            Endpoint(
                "POST", "/v1/account/invite/check", operationId: "UserCheckInvite",
                summary: "Tells who an invitation is for and to which tenant.", access: .everyone,
                body: .json(.object([("invite_token", .string())])),
                answer: .json(.object([("invite_email", .string()), ("tenant_id", .string())])),
                handler: .inline { request, caller in
                    let details = try tenants.checkInvite(token: try request.jsonBody().string("invite_token"))
                    return .ok(["invite_email": .string(details.email), "tenant_id": .string(details.tenantId)])
                }
            ),
            Endpoint(
                "POST", "/v1/account/invite/accept", operationId: "UserAcceptInvite",
                summary: "Joins the invitation's tenant (an existing user gives their password; a new one chooses it) and logs in.",
                access: .everyone,
                body: .json(
                    .object([
                        ("email", .string()), ("password", .string()), ("tenant_id", .string()), ("invite_token", .string()),
                        ("from_link", .string()), ("country", .string()),
                    ])),
                answer: .json(.object([("token", .string())])),
                hashesPassword: true,
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let token = try await tenants.acceptInvite(
                        TenantService.Acceptance(
                            email: try body.string("email"), password: try body.string("password"), tenantId: try body.string("tenant_id"),
                            inviteToken: try body.string("invite_token"), fromLink: try body.string("from_link"), country: try body.string("country")
                        ),
                        client: request.clientAddress
                    )
                    return .ok(["token": .string(token)])
                }
            ),
        ]
    }
}
