import TenantryCore
import TenantryHTTP

/// The current tenant's subscription: prices, changes, add-ons, cancellation.
extension RouteBuilder {
    var subscriptionEndpoints: [Endpoint] {
        let app = self.app
        let redirect: Endpoint.Answer = .json(.object([("redirect_url", .string(description: "where the payer goes next"))]))
        return [
            Endpoint(
                "GET", "/v1/subscription", operationId: "SubscriptionGet", summary: "The current tenant's subscription.", access: .tenant(.member),
                answer: .json(.object([("subscription", .reference("Subscription"))])),
                handler: .inline { request, caller in
                    let tenantId = try caller.tenant
                    return .ok(["subscription": Present.subscription(try app.subscriptions.current(tenantId: tenantId))])
                }
            ),
            Endpoint(
                "GET", "/v1/subscription/variants", operationId: "SubscriptionVariantList",
                summary: "Prices of the plans on sale; filters by period and plan (absent or NOT_DEFINE: all).", access: .user,
                query: [("period", "NOT_DEFINE (all), MONTHLY or YEARLY"), ("plan", "FREE, PRO, BUSINESS, CUSTOM, NEW_USER_TRIAL or BYOA_USER_TRIAL")],
                answer: .json(.object([("variants", .array(.reference("Variant")))])),
                handler: .inline { request, caller in
                    _ = try caller.principal
                    let period = request.query["period"] ?? ""
                    guard period.isEmpty || BillingPeriod(rawValue: period) != nil else {
                        throw DomainError.invalidArgument("period must be NOT_DEFINE, MONTHLY or YEARLY")
                    }
                    let variants = try app.plans.variants(kind: .plan, plan: request.query["plan"], period: period == "NOT_DEFINE" ? nil : period, activeOnly: true)
                    return .ok(["variants": .array(variants.map(Present.variant))])
                }
            ),
            Endpoint(
                "GET", "/v1/subscription/variants/{id}", operationId: "SubscriptionVariantGet", summary: "One price on sale.", access: .user,
                answer: .json(.object([("variant", .reference("Variant"))])),
                handler: .inline { request, caller in
                    _ = try caller.principal
                    let variant = try app.plans.variant(id: request.parameter("id"), activeOnly: true)
                    guard variant.kind == .plan else { throw DomainError.notFound("no subscription variant \(variant.id)") }
                    return .ok(["variant": Present.variant(variant)])
                }
            ),
            Endpoint(
                "POST", "/v1/subscription/create", operationId: "CreateSubscription",
                summary: "Opens an invoice for a paid plan, less a coupon's discount; the subscription starts when it is paid.", access: .tenant(.owner),
                body: .json(.object([("id", .string(description: "a variant id")), ("coupon", .string(description: "a coupon code (optional)"))])),
                answer: .json(.reference("PlanChange")),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    return .ok(Present.planChange(try await app.subscriptions.create(try caller.principal, variantId: try body.string("id"), coupon: try body.string("coupon"))))
                }
            ),
            Endpoint(
                "POST", "/v1/subscription/update", operationId: "UpdateSubscription",
                summary:
                    "Moves to another plan or period: an upgrade opens an invoice crediting the unused part of the period and takes effect when paid; a downgrade takes effect at the period's end.",
                access: .tenant(.owner),
                body: .json(.object([("new_id", .string(description: "a variant id")), ("coupon", .string(description: "a coupon code (optional; not for a downgrade)"))])),
                answer: .json(.reference("PlanChange")),
                handler: .offloaded { request, caller in
                    let body = try request.jsonBody()
                    return .ok(Present.planChange(try await app.subscriptions.update(try caller.principal, variantId: try body.string("new_id"), coupon: try body.string("coupon"))))
                }
            ),
            Endpoint(
                "POST", "/v1/subscription/cancel", operationId: "SubscriptionCancel",
                summary: "Ends the paid subscription at the end of its period; the tenant then falls to FREE.", access: .tenant(.owner),
                body: .json(.empty), answer: .json(.object([("subscription", .reference("Subscription"))])),
                handler: .offloaded { request, caller in
                    .ok(["subscription": Present.subscription(try await app.subscriptions.cancel(try caller.principal))])
                }
            ),
            Endpoint(
                "POST", "/v1/subscription/resume", operationId: "SubscriptionResume",
                summary: "Undoes a cancellation or a scheduled downgrade before the period ends: the subscription renews as it is (code 3 when there is neither).",
                access: .tenant(.owner),
                body: .json(.empty), answer: .json(.object([("subscription", .reference("Subscription"))])),
                handler: .offloaded { request, caller in
                    .ok(["subscription": Present.subscription(try await app.subscriptions.resume(try caller.principal))])
                }
            ),
            Endpoint(
                "GET", "/v1/subscription/addons", operationId: "AddonsList", summary: "Add-ons on sale: extra credits of one category per unit.", access: .user,
                answer: .json(.object([("variants", .array(.reference("AddonVariant")))])),
                handler: .inline { request, caller in
                    _ = try caller.principal
                    return .ok(["variants": .array(try app.plans.variants(kind: .addon, activeOnly: true).map(Present.variant))])
                }
            ),
            Endpoint(
                "POST", "/v1/subscription/addons/purchase", operationId: "AddonsPurchase",
                summary: "Opens one invoice for add-on credits; they are granted when it is paid.", access: .tenant(.owner),
                body: .json(.object([("purchases", .array(.object([("category", .string()), ("quantity", .int64())])))])), answer: redirect,
                handler: .offloaded { request, caller in
                    let purchases = try request.jsonBody().objects("purchases").map {
                        SubscriptionService.Purchase(category: try $0.string("category"), quantity: try $0.int64("quantity"))
                    }
                    let url = try await app.subscriptions.purchaseAddons(try caller.principal, purchases)
                    return .ok(["redirect_url": .string(url)])
                }
            ),
            Endpoint(
                "GET", "/v1/subscription/portal", operationId: "TenantPortal", summary: "Where the tenant's owner manages billing.", access: .tenant(.owner),
                answer: redirect,
                handler: .inline { request, caller in
                    .ok(["redirect_url": .string(try app.subscriptions.portal(try caller.principal))])
                }
            ),
            Endpoint(
                "GET", "/v1/subscription/invoices", operationId: "SubscriptionInvoiceList", summary: "The current tenant's invoices, newest first.",
                access: .tenant(.admin), query: [("page", "from 1 (default 1)"), ("limit", "1 to 100 (default 20)")],
                answer: .json(.object([("invoices", .array(.reference("Invoice"))), ("page", .reference("Page"))])),
                handler: .offloaded { request, caller in
                    let found = try await app.subscriptions.invoices(
                        try caller.principal, page: try request.queryInteger("page", default: 1), limit: try request.queryInteger("limit", default: 20))
                    return .ok(["invoices": .array(found.items.map(Present.invoice)), "page": Present.page(found)])
                }
            ),
            Endpoint(
                "GET", "/v1/subscription/invoices/{id}", operationId: "SubscriptionInvoiceGet", summary: "One of the current tenant's invoices.", access: .tenant(.admin),
                answer: .json(.object([("invoice", .reference("Invoice"))])),
                handler: .inline { request, caller in
                    .ok(["invoice": Present.invoice(try app.subscriptions.invoice(try caller.principal, id: request.parameter("id")))])
                }
            ),
            Endpoint(
                "POST", "/v1/subscription/invoices/{id}/pay", operationId: "SubscriptionInvoicePay",
                summary:
                    "Where to pay one of the current tenant's open invoices: Stripe Checkout when Stripe is configured (one session per invoice), else the configured checkout or the manual-payment page.",
                access: .tenant(.admin), answer: .json(.object([("redirect_url", .string()), ("provider", .enumeration(["stripe", "manual"]))])),
                handler: .offloaded { request, caller in
                    let url = try await app.subscriptions.payURL(try caller.principal, invoiceId: request.parameter("id"))
                    return .ok(["redirect_url": .string(url), "provider": .string(app.context.payments.provider)])
                }
            ),
        ]
    }

    var apiKeyEndpoints: [Endpoint] {
        let app = self.app
        return [
            Endpoint(
                "GET", "/v1/tenant/api-keys", operationId: "ApiKeyList", summary: "The current tenant's API keys (never their secrets).", access: .tenant(.admin),
                answer: .json(.object([("api_keys", .array(.reference("ApiKey")))])),
                handler: .inline { request, caller in
                    let tenantId = try caller.tenant
                    let now = app.clock.now()
                    return .ok(["api_keys": .array(try app.apiKeys.list(tenantId: tenantId).map { try Present.apiKey($0, now: now) })])
                }
            ),
            Endpoint(
                "POST", "/v1/tenant/api-keys", operationId: "ApiKeyCreate",
                summary: "Creates an API key for the tenant's services; the plaintext key is shown once.", access: .tenant(.admin),
                body: .json(.object([("name", .string()), ("scopes", .array(.enumeration(ApiKey.tenantScopes))), ("expires_at", .dateTime(nullable: true))])),
                answer: .json(.object([("api_key", .reference("ApiKey")), ("plaintext_key", .string())])),
                handler: .offloaded { request, caller in
                    let principal = try caller.principal
                    let body = try request.jsonBody()
                    let created = try await app.apiKeys.create(principal, name: try body.string("name"), scopes: try body.strings("scopes"), expiresAt: try body.date("expires_at"))
                    return .ok(["api_key": try Present.apiKey(created.key, now: app.clock.now()), "plaintext_key": .string(created.plaintext)])
                }
            ),
            Endpoint(
                "DELETE", "/v1/tenant/api-keys/{id}", operationId: "ApiKeyRevoke", summary: "Revokes an API key at once.", access: .tenant(.admin),
                answer: .json(.empty),
                handler: .offloaded { request, caller in
                    let principal = try caller.principal
                    let tenantId = try caller.tenant
                    try await app.apiKeys.revoke(id: request.parameter("id"), tenantId: tenantId, by: AuditActor(principal))
                    return .empty
                }
            ),
        ]
    }
}
