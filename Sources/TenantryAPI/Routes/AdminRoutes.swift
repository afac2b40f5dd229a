import TenantryCore
import TenantryHTTP

/// The operator's API behind the console.
extension RouteBuilder {
    var adminEndpoints: [Endpoint] {
        let app = self.app
        let page: [(name: String, description: String)] = [("page", "from 1 (default 1)"), ("limit", "1 to 100 (default 20)")]
        let variantBody: Schema = .object([
            ("kind", .cases(of: Variant.Kind.self)), ("plan", .string()), ("period", .cases(of: BillingPeriod.self, except: [BillingPeriod.notDefined.rawValue])),
            ("category", .string(description: "add-ons: the usage category")), ("units", .int64(description: "add-ons: credits per quantity")),
            ("price", .string(description: "a decimal amount such as 19.99 (a number is accepted too)")), ("currency", .string()),
            ("description", .string()), ("active", .boolean(description: "default true")),
        ])
        return [
            Endpoint(
                "GET", "/v1/admin/overview", operationId: "AdminOverview",
                summary:
                    "The dashboard: tenants by status, trials ending within 7 days, paid subscriptions by plan, credits consumed per day for 30 days, open invoices, tenants below an alert threshold, the timers.",
                access: .operatorOnly,
                answer: .json(
                    .object([
                        ("tenants_by_status", .map(.int64())),
                        ("trials_ending", .array(.object([("tenant_id", .string()), ("name", .string()), ("end_at", .dateTime())]))),
                        ("paid_by_plan", .array(.object([("plan", .string()), ("period", .string()), ("count", .int64())]))),
                        ("credits_per_day", .array(.object([("day", .string(description: "YYYY-MM-DD, UTC")), ("amount", .int64())]))),
                        ("open_invoices", .array(.object([("currency", .string()), ("count", .int64()), ("total", .number())]))),
                        ("tenants_below_threshold", .int64(description: "tenants at or below an alert threshold that fired in their current allowance window")),
                        ("jobs", .array(.reference("Job"))),
                    ])),
                handler: .offloaded { request, caller in
                    let overview = try await app.admin.overview()
                    return .ok([
                        "tenants_by_status": .object(overview.tenantsByStatus.map { ($0.0, .int64($0.1)) }),
                        "trials_ending": .array(overview.trialsEnding.map { ["tenant_id": .string($0.tenant.id), "name": .string($0.tenant.name), "end_at": .date($0.endAt)] }),
                        "paid_by_plan": .array(overview.paidByPlan.map { ["plan": .string($0.plan), "period": .string($0.period), "count": .int64($0.count)] }),
                        "credits_per_day": .array(overview.creditsPerDay.map { ["day": .string($0.day), "amount": .int64($0.amount)] }),
                        "open_invoices": .array(
                            overview.openInvoices.map { ["currency": .string($0.currency), "count": .int64($0.count), "total": Present.price($0.totalMinor, currency: $0.currency)] }),
                        "tenants_below_threshold": .int64(overview.tenantsBelowThreshold),
                        "jobs": .array(try app.scheduler.statuses().map(Present.job)),
                    ])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/tenants", operationId: "AdminTenantList",
                summary: "Tenants by name, id or member email, subscription status and plan, paged, with their subscription and balances.",
                access: .operatorOnly,
                query: [("q", "part of a name or member email, or a tenant id"), ("status", "a subscription status or NO_SUBSCRIPTION"), ("plan", "a plan name")] + page,
                answer: .json(.object([("tenants", .array(.reference("TenantSummary"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, caller in
                    let found = try await app.admin.tenants(
                        query: request.query["q"] ?? "", status: request.query["status"] ?? "", plan: request.query["plan"] ?? "",
                        page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20)
                    )
                    return .ok(["tenants": .array(found.items.map(Present.tenantSummary)), "page": Present.page(found)])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/tenants/{tenant_id}", operationId: "AdminTenantGet",
                summary: "A tenant: members, subscription and history, live credit grants with expiries, usage per agent, invoices, API keys.",
                access: .operatorOnly,
                answer: .json(
                    .object([
                        ("tenant", .reference("TenantSummary")), ("members", .array(.reference("Member"))), ("subscriptions", .array(.reference("Subscription"))),
                        ("grants", .array(.reference("Grant"))), ("agents", .array(.object([("agent_id", .string()), ("used", .int64())]))),
                        ("invoices", .array(.reference("Invoice"))), ("api_keys", .array(.reference("ApiKey"))),
                    ])),
                handler: .offloaded { request, caller in
                    let detail = try await app.admin.tenant(id: request.parameter("tenant_id"))
                    let now = app.clock.now()
                    return .ok([
                        "tenant": Present.tenantSummary(detail.summary),
                        "members": .array(detail.members.map(Present.member)),
                        "subscriptions": .array(detail.subscriptions.map(Present.subscription)),
                        "grants": .array(detail.grants.map(Present.grant)),
                        "agents": .array(detail.agents.map { ["agent_id": .string($0.agentId), "used": .int64($0.used)] }),
                        "invoices": .array(detail.invoices.map(Present.invoice)),
                        "api_keys": .array(try detail.keys.map { try Present.apiKey($0, now: now) }),
                    ])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/tenants/{tenant_id}/subscription", operationId: "AdminGetTenantSubscription", summary: "A tenant's subscription.",
                access: .operatorOnly, answer: .json(.object([("subscription", .reference("Subscription"))])),
                handler: .inline { request, caller in
                    let tenantId = request.parameter("tenant_id")
                    guard try app.admin.tenantExists(tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
                    return .ok(["subscription": Present.subscription(try app.subscriptions.current(tenantId: tenantId))])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/tenants/{tenant_id}/subscription", operationId: "AdminChangeTenantSubscription",
                summary: "Moves the end of a tenant's trial (the only change allowed); its trial credits follow.", access: .operatorOnly,
                body: .json(.object([("new_end_at", .dateTime())])), answer: .json(.object([("subscription", .reference("Subscription"))])),
                handler: .offloaded { request, caller in
                    let actor = caller.actor
                    let end = try request.jsonBody().requiredDate("new_end_at")
                    let subscription = try await app.subscriptions.changeTrialEnd(tenantId: request.parameter("tenant_id"), to: end, by: actor)
                    return .ok(["subscription": Present.subscription(subscription)])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/tenants/{tenant_id}/credits", operationId: "AdminGrantCredits",
                summary: "Grants credits by hand, with a reason (audited).", access: .operatorOnly,
                body: .json(.object([("category", .string()), ("amount", .int64()), ("expires_at", .dateTime()), ("reason", .string())])),
                answer: .json(.object([("grant", .reference("Grant"))])),
                handler: .offloaded { request, caller in
                    let actor = caller.actor
                    let body = try request.jsonBody()
                    let expiresAt = try body.requiredDate("expires_at")
                    let grant = try await app.credits.grant(
                        tenantId: request.parameter("tenant_id"), category: try body.string("category"), amount: try body.int64("amount"),
                        expiresAt: expiresAt, reason: try body.string("reason"), by: actor
                    )
                    return .ok(["grant": Present.grant(grant)])
                }
            ),
            Endpoint(
                "DELETE", "/v1/admin/api-keys/{id}", operationId: "AdminApiKeyRevoke",
                summary: "Revokes any API key (a tenant's or an operator's) at once.", access: .operatorOnly, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await app.apiKeys.revoke(id: request.parameter("id"), tenantId: nil, by: caller.actor)
                    return .empty
                }
            ),
            Endpoint(
                "GET", "/v1/admin/variants", operationId: "AdminVariantList", summary: "Every price variant and add-on, active or not.", access: .operatorOnly,
                query: [("kind", "plan or addon")], answer: .json(.object([("variants", .array(.reference("AdminVariant")))])),
                handler: .inline { request, caller in
                    let kind = request.query["kind"] ?? ""
                    guard kind.isEmpty || Variant.Kind(rawValue: kind) != nil else { throw DomainError.invalidArgument("kind must be plan or addon") }
                    return .ok(["variants": .array(try app.plans.variants(kind: Variant.Kind(rawValue: kind), activeOnly: false).map(Present.adminVariant))])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/variants", operationId: "AdminVariantCreate", summary: "Creates a price for a plan and period, or an add-on.",
                access: .operatorOnly, body: .json(variantBody), answer: .json(.object([("variant", .reference("AdminVariant"))])),
                handler: .offloaded { request, caller in
                    let actor = caller.actor
                    let variant = try await app.plans.createVariant(try Self.variantDraft(try request.jsonBody()), by: actor)
                    return .ok(["variant": Present.adminVariant(variant)])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/variants/{id}", operationId: "AdminVariantGet", summary: "One variant.", access: .operatorOnly,
                answer: .json(.object([("variant", .reference("AdminVariant"))])),
                handler: .inline { request, caller in
                    return .ok(["variant": Present.adminVariant(try app.plans.variant(id: request.parameter("id"), activeOnly: false))])
                }
            ),
            Endpoint(
                "PUT", "/v1/admin/variants/{id}", operationId: "AdminVariantUpdate", summary: "Changes a variant (its kind stays).", access: .operatorOnly,
                body: .json(variantBody), answer: .json(.object([("variant", .reference("AdminVariant"))])),
                handler: .offloaded { request, caller in
                    let actor = caller.actor
                    let variant = try await app.plans.updateVariant(id: request.parameter("id"), try Self.variantDraft(try request.jsonBody()), by: actor)
                    return .ok(["variant": Present.adminVariant(variant)])
                }
            ),
            Endpoint(
                "DELETE", "/v1/admin/variants/{id}", operationId: "AdminVariantDelete",
                summary: "Deletes a variant never sold; a sold one is deactivated instead (code 3 says so).", access: .operatorOnly, answer: .json(.empty),
                handler: .offloaded { request, caller in
                    try await app.plans.deleteVariant(id: request.parameter("id"), by: caller.actor)
                    return .empty
                }
            ),
            Endpoint(
                "GET", "/v1/admin/invoices", operationId: "AdminInvoiceList", summary: "Invoices, newest first.", access: .operatorOnly,
                query: [("tenant_id", "one tenant's"), ("status", "open, paid or void")],
                answer: .json(.object([("invoices", .array(.reference("Invoice")))])),
                handler: .offloaded { request, caller in
                    let invoices = try await app.subscriptions.invoices(tenantId: request.query["tenant_id"], status: request.query["status"])
                    return .ok(["invoices": .array(invoices.map(Present.invoice))])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/invoices/{id}", operationId: "AdminInvoiceGet", summary: "One invoice.", access: .operatorOnly,
                answer: .json(.object([("invoice", .reference("Invoice"))])),
                handler: .inline { request, caller in
                    return .ok(["invoice": Present.invoice(try app.subscriptions.invoice(id: request.parameter("id")))])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/invoices/{id}/paid", operationId: "AdminInvoicePaid",
                summary: "Marks an open invoice paid (manual payments): its subscription, renewal or add-on credits take effect.", access: .operatorOnly,
                body: .json(.empty), answer: .json(.object([("invoice", .reference("Invoice"))])),
                handler: .offloaded { request, caller in
                    let invoice = try await app.subscriptions.markPaid(invoiceId: request.parameter("id"), by: caller.actor)
                    return .ok(["invoice": Present.invoice(invoice)])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/users", operationId: "AdminUserList", summary: "Users by email, name or id, paged.", access: .operatorOnly,
                query: [("q", "part of an email or name, or a user id")] + page,
                answer: .json(.object([("users", .array(.reference("AdminUser"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, caller in
                    let found = try await app.admin.users(query: request.query["q"] ?? "", page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20))
                    return .ok(["users": .array(found.items.map(Present.adminUser)), "page": Present.page(found)])
                }
            ),
            Endpoint(
                "POST", "/v1/admin/users/{id}/status", operationId: "AdminUserStatus",
                summary: "Disables a user (their sessions end at once) or enables them.", access: .operatorOnly,
                body: .json(.object([("status", .enumeration(["ACTIVE", "DISABLED"]))])), answer: .json(.object([("user", .reference("AdminUser"))])),
                handler: .offloaded { request, caller in
                    let user = try await app.admin.setUserStatus(id: request.parameter("id"), status: try request.jsonBody().string("status"), by: caller.actor)
                    return .ok(["user": Present.adminUser(user)])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/audit", operationId: "AdminAuditList", summary: "Who changed what, newest first, paged.", access: .operatorOnly,
                query: [
                    ("action", "e.g. plan or plan.update"), ("actor", "an email or id"), ("target_type", "plan, variant, subscription, invoice, tenant, api_key, user"),
                    ("target_id", "one target"), ("tenant_id", "one tenant's"),
                ] + page,
                answer: .json(.object([("entries", .array(.reference("AuditEntry"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, caller in
                    let found = try await app.admin.audit(
                        action: request.query["action"] ?? "", actor: request.query["actor"] ?? "", targetType: request.query["target_type"] ?? "",
                        targetId: request.query["target_id"] ?? "", tenantId: request.query["tenant_id"] ?? "",
                        page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20)
                    )
                    return .ok(["entries": .array(try found.items.map { try Present.audit($0) }), "page": Present.page(found)])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/outbox", operationId: "AdminOutboxList",
                summary: "Emails, newest first, with their delivery: queued (with the next attempt), sent or failed, attempts and the last error. With the log transport, the inbox.",
                access: .operatorOnly,
                query: [("to", "only emails to this address"), ("limit", "how many, 1 to 500 (default 100)")],
                answer: .json(.object([("emails", .array(.reference("OutboxEmail")))])),
                handler: .inline { request, caller in
                    let limit = try request.queryInteger("limit", default: 100)
                    guard (1...500).contains(limit) else { throw DomainError.invalidArgument("limit must be between 1 and 500") }
                    let to = request.query["to"].flatMap { $0.isEmpty ? nil : $0 }
                    let emails = try app.outbox(limit: limit, recipient: to)
                    return .ok(["emails": .array(emails.map { Present.outboxEmail($0.email, body: $0.body) })])
                }
            ),
            Endpoint(
                "GET", "/v1/admin/jobs", operationId: "AdminJobList",
                summary: "Each timer: last run, next run, last result, items processed.", access: .operatorOnly,
                answer: .json(.object([("jobs", .array(.reference("Job")))])),
                handler: .inline { request, caller in
                    return .ok(["jobs": .array(try app.scheduler.statuses().map(Present.job))])
                }
            ),
        ] + clockEndpoints
    }

    /// Exists only when the daemon runs with `--test-clock`.
    private var clockEndpoints: [Endpoint] {
        guard let clock = options.testClock else { return [] }
        let app = self.app
        return [
            Endpoint(
                "POST", "/v1/admin/clock/advance", operationId: "AdminClockAdvance",
                summary: "Test mode only: moves the daemon's clock forward (kept across restarts); every job that became due has run before it answers.",
                access: .operatorOnly, body: .json(.object([("seconds", .int64())])), answer: .json(.object([("now", .dateTime())])),
                handler: .offloaded { request, caller in
                    let now = try await clock.advance(seconds: try request.jsonBody().int64("seconds"), database: app.database)
                    await app.scheduler.runDue()
                    return .ok(["now": .date(now)])
                }
            )
        ]
    }

    static func variantDraft(_ body: RequestBody) throws -> PlanService.VariantDraft {
        let kindText = try body.string("kind")
        guard let kind = Variant.Kind(rawValue: kindText.isEmpty ? "plan" : kindText) else { throw DomainError.invalidArgument("kind must be plan or addon") }
        let price = try body.decimal("price")
        return PlanService.VariantDraft(
            kind: kind, plan: try body.string("plan"), period: try body.string("period"), category: try body.string("category"),
            units: try body.int64("units"), price: price, currency: try body.string("currency"), description: try body.string("description"),
            active: body.has("active") ? try body.bool("active") : true
        )
    }
}
