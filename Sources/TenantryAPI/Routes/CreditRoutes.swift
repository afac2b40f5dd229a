import TenantryCore
import TenantryHTTP

/// Metering for the product's AI services: debits one by one or in batches, holds, the
/// reverse proxy's check; what tenants set on their credits (caps, alerts); the ledger and
/// the balance.
extension RouteBuilder {
    var creditEndpoints: [Endpoint] {
        let app = self.app
        let page: [(name: String, description: String)] = [("page", "from 1 (default 1)"), ("limit", "1 to 100 (default 20)")]
        let consumption: [(String, Schema)] = [
            ("category", .string()), ("amount", .int64()), ("agent_id", .string()), ("dataset_id", .string()), ("idempotency_key", .string()),
        ]
        let holdAnswer: Schema = .object([("hold", .reference("Hold")), ("consumed", .int64(description: "what a settlement debited")), ("remaining", .int64())])
        let limitsAnswer: Schema = .object([("limits", .array(.reference("CreditLimit")))])
        let alertsAnswer: Schema = .object([("settings", .reference("AlertSettings")), ("alerts", .array(.reference("CreditAlert"))), ("page", .reference("Page"))])
        return [
            Endpoint(
                "POST", "/v1/usage/tenants/{tenant_id}/consume", operationId: "ConsumeCredits",
                summary:
                    "Debits credits, all or nothing, in burn-down order (priority, soonest expiry, age); code 9 (HTTP 402) when the balance net of open holds is short or a cap is reached, the message says which. The same idempotency_key answers the first result again.",
                access: .key(ApiKey.writeScope), body: .json(.object(consumption)), answer: .json(.object([("consumed", .int64()), ("remaining", .int64())])),
                handler: .staged { request, caller in
                    try app.credits.consume(try Self.consumption(request.jsonBody(), tenantId: request.parameter("tenant_id")), apiKeyId: caller.keyId).answer { result in
                        Self.replayable(["consumed": .int64(result.consumed), "remaining": .int64(result.remaining)], replayed: result.replayed)
                    }
                }
            ),
            Endpoint(
                "POST", "/v1/usage/tenants/{tenant_id}/consume/batch", operationId: "ConsumeCreditsBatch",
                summary:
                    "Up to 1000 debits committed together, each with its own idempotency key and its own answer in order: code 0 and the debit, or the code and message that refused it (a refused item undoes no other).",
                access: .key(ApiKey.writeScope), body: .json(.object([("items", .array(.object(consumption)))])),
                answer: .json(
                    .object([
                        (
                            "results",
                            .array(
                                .object([
                                    ("consumed", .int64()), ("remaining", .int64()), ("replayed", .boolean()), ("code", .integer(description: "0 when debited")),
                                    ("message", .string()),
                                ]))
                        )
                    ])),
                bodyLimit: 1 << 20,
                handler: .staged { request, caller in
                    let tenantId = request.parameter("tenant_id")
                    let items = try request.jsonBody().objects("items").map { try Self.consumption($0, tenantId: tenantId) }
                    return try app.credits.consumeBatch(tenantId: tenantId, items, apiKeyId: caller.keyId).answer { results in
                        .ok([
                            "results": .array(
                                results.map { result in
                                    switch result {
                                    case .success(let debit):
                                        ["consumed": .int64(debit.consumed), "remaining": .int64(debit.remaining), "replayed": .bool(debit.replayed), "code": 0, "message": ""]
                                    case .failure(let error):
                                        ["consumed": .int64(0), "remaining": .int64(0), "replayed": false, "code": .integer(ErrorResponses.code(of: error)), "message": .string(error.message)]
                                    }
                                })
                        ])
                    }
                }
            ),
            Endpoint(
                "POST", "/v1/usage/tenants/{tenant_id}/holds", operationId: "CreateCreditHold",
                summary:
                    "Reserves credits for a call whose cost is known at its end, checked as a debit is (code 9 when short or over a cap, reserving nothing). ttl_seconds 1 to 86400, 0 for 300; past it the hold reserves nothing.",
                access: .key(ApiKey.writeScope), body: .json(.object(consumption + [("ttl_seconds", .int64())])), answer: .json(holdAnswer),
                handler: .staged { request, caller in
                    let body = try request.jsonBody()
                    return try app.credits.hold(
                        try Self.consumption(body, tenantId: request.parameter("tenant_id")), ttlSeconds: try body.int64("ttl_seconds"), apiKeyId: caller.keyId
                    ).answer { Self.holdResponse($0, now: app.clock.now()) }
                }
            ),
            Endpoint(
                "POST", "/v1/usage/tenants/{tenant_id}/holds/{hold_id}/settle", operationId: "SettleCreditHold",
                summary:
                    "Debits the call's actual amount (0 allowed) in burn-down order and frees the rest. More than held, or a hold past its TTL, needs the balance to cover it (code 9 otherwise, the hold left as it was).",
                access: .key(ApiKey.writeScope), body: .json(.object([("amount", .int64()), ("idempotency_key", .string())])), answer: .json(holdAnswer),
                handler: .staged { request, caller in
                    let body = try request.jsonBody()
                    return try app.credits.settle(
                        tenantId: request.parameter("tenant_id"), holdId: request.parameter("hold_id"), amount: try body.int64("amount"),
                        idempotencyKey: try body.string("idempotency_key")
                    ).answer { Self.holdResponse($0, now: app.clock.now()) }
                }
            ),
            Endpoint(
                "POST", "/v1/usage/tenants/{tenant_id}/holds/{hold_id}/release", operationId: "ReleaseCreditHold",
                summary: "Frees a hold. A hold released already, or past its TTL, is answered as it is; a settled one is code 9.",
                access: .key(ApiKey.writeScope), answer: .json(holdAnswer),
                handler: .staged { request, caller in
                    app.credits.release(tenantId: request.parameter("tenant_id"), holdId: request.parameter("hold_id")).answer { Self.holdResponse($0, now: app.clock.now()) }
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/holds", operationId: "ListCreditHolds", summary: "The tenant's holds, newest first.", access: .tenantUsage,
                query: [("status", "open, settled, released or expired (as of now)")] + page,
                answer: .json(.object([("holds", .array(.reference("Hold"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, caller in
                    var status: CreditHold.Status?
                    if let text = request.query["status"], !text.isEmpty {
                        guard let parsed = CreditHold.Status(rawValue: text) else { throw DomainError.invalidArgument("status must be open, settled, released or expired") }
                        status = parsed
                    }
                    let found = try await app.credits.holds(
                        tenantId: request.parameter("tenant_id"), status: status, page: try request.queryInteger("page", default: 1),
                        limit: try request.queryInteger("limit", default: 20))
                    let now = app.clock.now()
                    return .ok(["holds": .array(found.items.map { Present.hold($0, now: now) }), "page": Present.page(found)])
                }
            ),
            Endpoint(
                "PUT", "/v1/usage/tenants/{tenant_id}/limits", operationId: "SetCreditLimits",
                summary:
                    "Replaces the tenant's caps: at most `limit` of a category per window for one agent or one API key. Every debit, hold and settlement checks them (code 9 past one); each counts what its current window used already.",
                access: .tenantAdmin,
                body: .json(
                    .object([
                        (
                            "limits",
                            .array(
                                .object([
                                    ("scope", .cases(of: CreditLimit.Scope.self)), ("subject", .string()), ("category", .string()), ("limit", .int64()),
                                    ("window", .cases(of: CreditLimit.Window.self)),
                                ]))
                        )
                    ])), answer: .json(limitsAnswer),
                handler: .offloaded { request, caller in
                    let limits = try request.jsonBody().objects("limits").enumerated().map { index, body in
                        guard let scope = CreditLimit.Scope(rawValue: try body.string("scope")) else {
                            throw DomainError.invalidArgument("limits[\(index)].scope must be agent or api_key")
                        }
                        guard let window = CreditLimit.Window(rawValue: try body.string("window")) else {
                            throw DomainError.invalidArgument("limits[\(index)].window must be day, month or period")
                        }
                        return CreditLimit(scope: scope, subject: try body.string("subject"), category: try body.string("category"), limit: try body.int64("limit"), window: window)
                    }
                    let set = try await app.credits.setLimits(tenantId: request.parameter("tenant_id"), limits, by: caller.actor)
                    return .ok(["limits": .array(set.map(Present.creditLimit))])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/limits", operationId: "ListCreditLimits", summary: "The tenant's caps, each with what its current window used.",
                access: .tenantUsage, answer: .json(limitsAnswer),
                handler: .inline { request, caller in
                    .ok(["limits": .array(try app.credits.limits(tenantId: request.parameter("tenant_id")).map(Present.creditLimit))])
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/alerts", operationId: "GetCreditAlerts",
                summary: "The tenant's alert thresholds (its own or its plan's) and the alerts that fired, newest first.", access: .tenantUsage, query: page,
                answer: .json(alertsAnswer),
                handler: .offloaded { request, caller in
                    let view = try await app.credits.alerts(
                        tenantId: request.parameter("tenant_id"), page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20))
                    return Self.alertsResponse(view)
                }
            ),
            Endpoint(
                "PUT", "/v1/usage/tenants/{tenant_id}/alerts", operationId: "SetCreditAlerts",
                summary:
                    "Sets the tenant's own thresholds (each a percent of the period's allowance used, or a remaining amount), or inherit: true for its plan's; email: false stops the emails to its owners. A field left out keeps its value.",
                access: .tenantAdmin,
                body: .json(.object([("thresholds", .array(.reference("AlertThreshold"))), ("inherit", .boolean()), ("email", .boolean())])), answer: .json(alertsAnswer),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    let tenantId = request.parameter("tenant_id")
                    let thresholds = body.has("thresholds") ? try body.objects("thresholds").map { AlertThreshold(percent: Int(try $0.int32("percent")), remaining: try $0.int64("remaining")) } : nil
                    _ = try await app.credits.setAlerts(
                        tenantId: tenantId, .init(thresholds: thresholds, inherit: try body.bool("inherit"), email: body.has("email") ? try body.bool("email") : nil), by: caller.actor)
                    return Self.alertsResponse(try await app.credits.alerts(tenantId: tenantId, page: 1, limit: 20))
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/ledger", operationId: "GetCreditLedger",
                summary:
                    "Every grant, rollover, debit, hold, settlement, release and expiry, each with the grants it drew from and the balance and holds after it; format=csv for a spreadsheet (the same page, as text/csv).",
                access: .tenantUsage,
                query: [
                    ("category", "one category"), ("agent_id", "one agent"), ("from", "RFC 3339, inclusive"), ("to", "RFC 3339, exclusive"),
                    ("order", "asc (oldest first, the default) or desc"), ("format", "json (default) or csv"),
                ] + page,
                answer: .json(.object([("entries", .array(.reference("LedgerEntry"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, caller in
                    let query = request.query
                    func date(_ name: String) throws -> Instant? {
                        guard let text = query[name], !text.isEmpty else { return nil }
                        guard let instant = Instant(rfc3339: text) else { throw DomainError.invalidArgument("\(name) must be an RFC 3339 date-time") }
                        return instant
                    }
                    let order = query["order"] ?? ""
                    guard ["", "asc", "desc"].contains(order) else { throw DomainError.invalidArgument("order must be asc or desc") }
                    let format = query["format"] ?? ""
                    guard ["", "json", "csv"].contains(format) else { throw DomainError.invalidArgument("format must be json or csv") }
                    let filter = Journal.Filter(
                        category: query["category"].flatMap { $0.isEmpty ? nil : $0 }, agentId: query["agent_id"].flatMap { $0.isEmpty ? nil : $0 },
                        from: try date("from"), to: try date("to"), newestFirst: order == "desc")
                    let found = try await app.credits.ledger(
                        tenantId: request.parameter("tenant_id"), filter: filter, page: try request.queryInteger("page", default: 1),
                        limit: try request.queryInteger("limit", default: 20))
                    guard format == "csv" else { return .ok(["entries": .array(found.items.map(Present.ledgerEntry)), "page": Present.page(found)]) }
                    var response = Response.text(Self.ledgerCSV(found.items), contentType: "text/csv; charset=utf-8")
                    response.setHeader("Content-Disposition", "attachment; filename=\"ledger-\(request.parameter("tenant_id"))-\(found.page).csv\"")
                    return response
                }
            ),
            Endpoint(
                "GET", "/v1/usage/tenants/{tenant_id}/balance", operationId: "GetCreditBalance",
                summary: "Per category: what can be spent now (live grants minus open holds), what holds reserve, and the next credits to expire.",
                access: .tenantUsage,
                answer: .json(
                    .object([
                        (
                            "balances",
                            .array(
                                .object([
                                    ("category", .string()), ("available", .int64()), ("held", .int64()), ("granted_left", .int64(description: "what live grants have left, holds aside")),
                                    ("next_expiry_at", .dateTime(nullable: true)), ("next_expiry_amount", .int64()),
                                ]))
                        )
                    ])),
                handler: .inline { request, caller in
                    .ok(["balances": .array(try app.credits.balances(tenantId: request.parameter("tenant_id")).map(Present.balance))])
                }
            ),
            authCheck,
        ]
    }

    /// nginx `auth_request` / Caddy `forward_auth`: 200 with who is calling, or 401/403.
    /// With X-Usage-Category, X-Usage-Amount and X-Idempotency-Key it debits as consume does,
    /// or places a hold instead with X-Usage-Hold-Ttl.
    private var authCheck: Endpoint {
        let app = self.app
        return Endpoint(
            "GET", "/v1/auth/check", operationId: "AuthCheck",
            summary:
                "For a reverse proxy: 200 with X-Tenant-Id, X-User-Id (sessions only), X-Plan and X-Credits-Remaining, or 401/403. Optional X-Usage-Category, X-Usage-Amount and X-Idempotency-Key debit as consume does (403 when short); with X-Usage-Hold-Ttl (seconds) they place a hold instead, answered in X-Usage-Hold-Id.",
            access: .anyCredential,
            answer: .json(
                .object([
                    ("tenant_id", .string()), ("user_id", .string()), ("plan", .string()), ("credits_remaining", .int64()),
                    ("hold_id", .string(description: "the hold placed, or empty")),
                ])),
            handler: .staged { request, caller in
                guard let tenantId = caller.tenantId else { throw DomainError.permissionDenied("an operator key has no tenant to check") }
                let category = request.header("x-usage-category") ?? "USAGE_AI_CREDIT"
                try PlanConfig.validateCategory(category, field: "X-Usage-Category")
                guard let amountText = request.header("x-usage-amount") else {
                    let standing = try app.credits.standing(tenantId: tenantId, category: category)
                    return .answer(Self.authCheckResponse(caller, tenantId: tenantId, plan: standing.plan, remaining: standing.remaining))
                }
                guard let amount = Int64(amountText), amount > 0 else { throw DomainError.invalidArgument("X-Usage-Amount must be a positive integer") }
                guard let key = request.header("x-idempotency-key"), !key.isEmpty else {
                    throw DomainError.invalidArgument("X-Idempotency-Key is required with X-Usage-Amount")
                }
                if case .key(let apiKey) = caller.credential, !apiKey.key.allows(ApiKey.writeScope) {
                    throw DomainError.permissionDenied("this API key lacks the usage.write scope")
                }
                let consumption = CreditService.Consumption(
                    tenantId: tenantId, category: category, amount: amount, agentId: request.header("x-agent-id") ?? "",
                    datasetId: request.header("x-dataset-id") ?? "", idempotencyKey: key)
                // A proxy only understands 401 and 403 from its auth request.
                let forbiddenWhenShort: @Sendable (any Error) -> any Error = { error in
                    guard case DomainError.failedPrecondition(let message) = error else { return error }
                    return DomainError.permissionDenied(message)
                }
                guard let ttlText = request.header("x-usage-hold-ttl") else {
                    return try app.credits.consume(consumption, apiKeyId: caller.keyId).answer(mappingError: forbiddenWhenShort) { debit in
                        Self.authCheckResponse(caller, tenantId: tenantId, plan: try app.subscriptions.planName(tenantId: tenantId), remaining: debit.remaining)
                    }
                }
                guard let ttl = Int64(ttlText), ttl > 0 else { throw DomainError.invalidArgument("X-Usage-Hold-Ttl must be a positive number of seconds") }
                return try app.credits.hold(consumption, ttlSeconds: ttl, apiKeyId: caller.keyId).answer(mappingError: forbiddenWhenShort) { outcome in
                    Self.authCheckResponse(caller, tenantId: tenantId, plan: try app.subscriptions.planName(tenantId: tenantId), remaining: outcome.remaining, holdId: outcome.hold.id)
                }
            }
        )
    }

    /// Who is calling, in the body and in the headers a proxy passes on.
    private static func authCheckResponse(_ caller: Caller, tenantId: String, plan: String, remaining: Int64, holdId: String = "") -> Response {
        let userId = caller.userId ?? ""
        var response = Response.ok([
            "tenant_id": .string(tenantId), "user_id": .string(userId), "plan": .string(plan), "credits_remaining": .int64(remaining), "hold_id": .string(holdId),
        ])
        response.headers += [("X-Tenant-Id", tenantId), ("X-Plan", plan), ("X-Credits-Remaining", String(remaining))]
        // An API key acts for its tenant, not for a user.
        if !userId.isEmpty { response.headers.append(("X-User-Id", userId)) }
        if !holdId.isEmpty { response.headers.append(("X-Usage-Hold-Id", holdId)) }
        return response
    }

    /// A debit's fields from a request body (a batch item has the same).
    static func consumption(_ body: RequestBody, tenantId: String) throws -> CreditService.Consumption {
        CreditService.Consumption(
            tenantId: tenantId, category: try body.string("category"), amount: try body.int64("amount"), agentId: try body.string("agent_id"),
            datasetId: try body.string("dataset_id"), idempotencyKey: try body.string("idempotency_key"))
    }

    /// An answer that says when it repeats the first result of its idempotency key.
    static func replayable(_ body: JSON, replayed: Bool) -> Response {
        var response = Response.ok(body)
        if replayed { response.setHeader("Idempotent-Replayed", "true") }
        return response
    }

    static func holdResponse(_ outcome: CreditService.HoldOutcome, now: Instant) -> Response {
        replayable(
            ["hold": Present.hold(outcome.hold, now: now), "consumed": .int64(outcome.consumed), "remaining": .int64(outcome.remaining)], replayed: outcome.replayed)
    }

    static func alertsResponse(_ view: CreditService.AlertsView) -> Response {
        .ok(["settings": Present.alertSettings(view.settings), "alerts": .array(view.alerts.items.map(Present.creditAlert)), "page": Present.page(view.alerts)])
    }

    /// The ledger's page as CSV (RFC 4180: fields with a comma, quote or line break quoted).
    /// A field a spreadsheet would run as a formula (an agent id "=HYPERLINK(…)") is
    /// prefixed with an apostrophe, as OWASP advises.
    static func ledgerCSV(_ entries: [Journal.Entry]) -> String {
        func field(_ value: String) -> String {
            let text = value.first.map { "=+-@\t\r".contains($0) } == true ? "'" + value : value
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var lines = ["seq,created_at,kind,category,amount,balance_after,held_after,grant_id,source,debit_id,hold_id,agent_id,dataset_id,drawn_from"]
        for entry in entries {
            let drawn = entry.drawnFrom.map { "\($0.grantId):\($0.amount)" }.joined(separator: " ")
            lines.append(
                [
                    String(entry.seq), entry.createdAt.rfc3339, entry.kind.rawValue, entry.category, String(entry.amount), String(entry.balanceAfter), String(entry.heldAfter),
                    entry.grantId, entry.source, entry.debitId, entry.holdId, entry.agentId, entry.datasetId, drawn,
                ].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
