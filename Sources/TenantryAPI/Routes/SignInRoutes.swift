import TenantryCore
import TenantryHTTP

/// Sign-in through OpenID Connect providers (the seed's OAuth operations), and the caller's
/// linked identities.
extension RouteBuilder {
    var signInEndpoints: [Endpoint] {
        let signIn = app.signIn
        let secureCookie = app.settings.publicURL.hasPrefix("https://")
        /// The cookie that binds an attempt to the browser that started it.
        @Sendable func bindingCookie(_ value: String) -> (String, String) {
            ("Set-Cookie", "\(SignInService.cookieName)=\(value); Path=/v1/account/oauth; Max-Age=600; HttpOnly; SameSite=Lax" + (secureCookie ? "; Secure" : ""))
        }
        return [
            Endpoint(
                "GET", "/v1/account/oauth/providers", operationId: "OAuthProviderList", summary: "The OpenID Connect providers users may sign in with, for the sign-in pages.",
                access: .everyone,
                answer: .json(.object([("providers", .array(.object([("name", .string()), ("display_name", .string()), ("login_url", .string())])))])),
                handler: .inline { _, _ in
                    .ok([
                        "providers": .array(
                            signIn.list().map { ["name": .string($0.name), "display_name": .string($0.displayName), "login_url": .string($0.loginURL)] })
                    ])
                }
            ),
            Endpoint(
                "GET", "/v1/account/oauth/{provider}/login", operationId: "OAuthLoginProxy",
                summary: "Sends the browser to the provider to sign in (authorization code, PKCE S256, a single-use state bound to the browser by a cookie).",
                access: .everyone, query: [("redirect_to", "a path on this site to land on afterwards (default /portal)")],
                answer: .redirect(description: "to the provider's authorization endpoint"),
                handler: .offloaded { request, _ in
                    let start = try await signIn.start(provider: request.parameter("provider"), redirectTo: request.query["redirect_to"] ?? "")
                    return Response(status: 302, headers: [("Location", start.url), bindingCookie(start.binding), ("Cache-Control", "no-store")])
                }
            ),
            Endpoint(
                "POST", "/v1/account/oauth/{provider}/authorize", operationId: "OAuthAuthorizeProxy",
                summary: "Links the provider to the signed-in user: answers where the browser goes to confirm it there.", access: .user,
                body: .json(.object([("redirect_to", .string(description: "a path on this site to land on afterwards (default /portal)"))])),
                answer: .json(.object([("redirect_url", .string())])),
                handler: .offloaded { request, caller in
                    let start = try await signIn.start(
                        provider: request.parameter("provider"), redirectTo: try request.jsonBody().string("redirect_to"), linking: try caller.principal)
                    var response = Response.ok(["redirect_url": .string(start.url)])
                    response.headers.append(bindingCookie(start.binding))
                    return response
                }
            ),
            Endpoint(
                "GET", "/v1/account/oauth/{provider}/callback-url", operationId: "OAuthCallbackUrl",
                summary: "The redirect URI to register at the provider.", access: .everyone, answer: .json(.object([("callback_url", .string())])),
                handler: .inline { request, _ in .ok(["callback_url": .string(try signIn.callbackURL(provider: request.parameter("provider")))]) }
            ),
            Endpoint(
                "GET", "/v1/account/oauth/{provider}/post-callback-url", operationId: "OAuthPostCallbackUrl",
                summary: "Where the browser lands after signing in, unless the sign-in named another page.", access: .everyone,
                answer: .json(.object([("redirect_url", .string())])),
                handler: .inline { request, _ in .ok(["redirect_url": .string(try signIn.landingURL(provider: request.parameter("provider")))]) }
            ),
            Endpoint(
                "GET", "/v1/account/oauth/{provider}/callback", operationId: "OAUTHLoginAndRegister",
                summary:
                    "The provider's redirect back: the code is exchanged and the ID token verified; a linked identity or a verified email signs in (an account is made for a new email). The browser lands on the page with #oauth_ticket= (for POST /v1/account/oauth/session) or #oauth_error=.",
                access: .everyone, query: [("code", "the authorization code"), ("state", "the attempt"), ("error", "the provider's refusal, if any")],
                answer: .redirect(description: "to the landing page, with #oauth_ticket=… or #oauth_error=…"),
                handler: .offloaded { request, _ in
                    let location = try await signIn.callback(
                        provider: request.parameter("provider"), code: request.query["code"] ?? "", state: request.query["state"] ?? "",
                        error: request.query["error_description"] ?? request.query["error"] ?? "", binding: Self.cookie(SignInService.cookieName, in: request),
                        client: request.clientAddress)
                    // The attempt is over either way: its cookie goes.
                    return Response(
                        status: 302,
                        headers: [
                            ("Location", location), ("Set-Cookie", "\(SignInService.cookieName)=; Path=/v1/account/oauth; Max-Age=0; HttpOnly; SameSite=Lax"),
                            ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
                        ])
                }
            ),
            Endpoint(
                "POST", "/v1/account/oauth/session", operationId: "OAuthSession", summary: "Exchanges the ticket the callback gave the browser for a session (once, within 2 minutes).",
                access: .everyone, body: .json(.object([("ticket", .string())])),
                answer: .json(
                    .object([
                        ("token", .string(description: "empty when a second factor is asked for")), ("is_initialized", .boolean()),
                        ("mfa_required", .boolean(description: "an operator with a second factor: POST /v1/account/login/2fa with mfa_token")),
                        ("mfa_token", .string()),
                    ])),
                handler: .offloaded { request, _ in
                    let session = try await signIn.session(ticket: try request.jsonBody().string("ticket"), client: request.clientAddress)
                    switch session.outcome {
                    case .session(let token):
                        return .ok(["token": .string(token), "is_initialized": .bool(session.isInitialized), "mfa_required": false, "mfa_token": ""])
                    case .secondFactor(let challenge):
                        return .ok(["token": "", "is_initialized": .bool(session.isInitialized), "mfa_required": true, "mfa_token": .string(challenge)])
                    }
                }
            ),
            Endpoint(
                "GET", "/v1/user/identities", operationId: "UserIdentityList", summary: "The providers linked to the caller's account.", access: .user,
                answer: .json(.object([("identities", .array(.object([("provider", .string()), ("subject", .string()), ("email", .string()), ("linked_at", .dateTime())])))])),
                handler: .inline { _, caller in
                    .ok([
                        "identities": .array(
                            try signIn.identities(try caller.principal).map {
                                ["provider": .string($0.provider), "subject": .string($0.subject), "email": .string($0.email), "linked_at": .date($0.linkedAt)]
                            })
                    ])
                }
            ),
            Endpoint(
                "DELETE", "/v1/user/identities/{provider}", operationId: "UserIdentityUnlink",
                summary: "Unlinks a provider; the last way to sign in (no password, no other provider) is refused with code 3.", access: .user, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await signIn.unlink(try caller.principal, provider: request.parameter("provider"))
                    return .empty
                }
            ),
        ]
    }

    /// A cookie's value from the request's Cookie header.
    static func cookie(_ name: String, in request: Request) -> String? {
        guard let header = request.header("cookie") else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == name { return parts[1] }
        }
        return nil
    }
}
