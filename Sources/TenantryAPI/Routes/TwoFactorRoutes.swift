import TenantryCore
import TenantryHTTP

/// Operators' second factor: enrolment and removal by the operator, a reset by another.
extension RouteBuilder {
    var twoFactorEndpoints: [Endpoint] {
        let twoFactor = app.twoFactor
        let codeBody: Endpoint.Body = .json(.object([("code", .string(description: "6 digits from the app, or a recovery code xxxxx-xxxxx"))]))
        return [
            Endpoint(
                "GET", "/v1/user/2fa", operationId: "UserTwoFactorStatus", summary: "Whether the calling operator signs in with a second factor.", access: .user,
                answer: .json(
                    .object([
                        ("enabled", .boolean()), ("pending", .boolean(description: "enrolled, not confirmed by a first code yet")),
                        ("confirmed_at", .dateTime(nullable: true)), ("recovery_codes_left", .integer()),
                    ])),
                handler: .inline { request, caller in
                    let status = try twoFactor.status(try caller.principal)
                    return .ok([
                        "enabled": .bool(status.enabled), "pending": .bool(status.pending), "confirmed_at": .date(status.confirmedAt),
                        "recovery_codes_left": .integer(status.recoveryCodesLeft),
                    ])
                }
            ),
            Endpoint(
                "POST", "/v1/user/2fa/enroll", operationId: "UserTwoFactorEnroll",
                summary: "Starts enrolment: a new TOTP secret, as an otpauth:// URI for an authenticator app; confirmed by a first code.", access: .user,
                body: .json(.empty), answer: .json(.object([("secret", .string(description: "base32, to type in by hand")), ("otpauth_uri", .string())])),
                handler: .offloaded { request, caller in
                    let enrolment = try await twoFactor.enroll(try caller.principal)
                    return .ok(["secret": .string(enrolment.secret), "otpauth_uri": .string(enrolment.uri)])
                }
            ),
            Endpoint(
                "POST", "/v1/user/2fa/confirm", operationId: "UserTwoFactorConfirm",
                summary: "Confirms enrolment with a first code; answers ten single-use recovery codes, shown once.", access: .user, body: codeBody,
                answer: .json(.object([("recovery_codes", .array(.string()))])),
                handler: .offloaded { request, caller in
                    let codes = try await twoFactor.confirm(try caller.principal, code: try request.jsonBody().string("code"))
                    return .ok(["recovery_codes": .array(codes.map(JSON.string))])
                }
            ),
            Endpoint(
                "POST", "/v1/user/2fa/disable", operationId: "UserTwoFactorDisable", summary: "Turns the caller's second factor off; it takes a current code.",
                access: .user, body: codeBody, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await twoFactor.disable(try caller.principal, code: try request.jsonBody().string("code"))
                    return .empty
                }
            ),
            Endpoint(
                "DELETE", "/v1/admin/users/{id}/2fa", operationId: "AdminUserTwoFactorReset",
                summary: "Removes an operator's second factor (a lost device), audited: they sign in with their password and enroll again.", access: .operatorOnly,
                answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await twoFactor.reset(userId: request.parameter("id"), by: caller.actor)
                    return .empty
                }
            ),
        ]
    }
}
