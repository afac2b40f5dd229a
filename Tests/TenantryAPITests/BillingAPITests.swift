import TenantryAPI
import TenantryCore
import TenantryTesting
import Testing

@Suite("Billing over HTTP: plans, subscriptions, invoices, keys, metering, the admin API")
struct BillingAPITests {
    /// A signed-up owner: (session, tenant id).
    @Test("operators manage plans: validation, has_used, built-ins kept")
    func plans() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (user, tenantId) = try await daemon.owner()
        let listed = try await daemon.ok("GET", "/v1/usage/plans", token: op)["plans"]!.arrayValue!
        #expect(listed.map { $0["plan_name"]!.string } == ["FREE", "NEW_USER_TRIAL", "BYOA_USER_TRIAL", "PRO", "BUSINESS", "CUSTOM"])
        expectError(try await daemon.call("GET", "/v1/usage/plans", token: user), code: 7)

        let created = try await daemon.ok(
            "POST", "/v1/usage/plans",
            json: [
                "plan_name": .string(tenantId), "description": "ACME", "credit_extension": 3,
                "config": [
                    "usage_configs": [["category": "USAGE_AI_CREDIT", "total_amount": "250"], ["category": "USAGE_VOICE_MINUTE", "total_amount": 60]],
                    "team_members": 12, "voice_agent": true, "integration_types": ["PLATFORM_WHATSAPP"],
                ],
            ], token: op)
        #expect(created["plan"]?["config"]?["usage_configs"]?[1]?["total_amount"] == "60")
        #expect(created["plan"]?["has_used"] == false)
        expectError(try await daemon.call("POST", "/v1/usage/plans", json: ["plan_name": .string(tenantId)], token: op), code: 6)
        expectError(try await daemon.call("POST", "/v1/usage/plans", json: ["plan_name": "GOLD"], token: op), code: 3, containing: "tenant id")
        expectError(
            try await daemon.call("PUT", "/v1/usage/plans/FREE", json: ["config": ["usage_configs": [["category": "USAGE_UNKNOWN", "total_amount": 1]]]], token: op), code: 3, containing: "unset")
        expectError(
            try await daemon.call("PUT", "/v1/usage/plans/FREE", json: ["config": ["usage_configs": [["category": "USAGE_AI_CREDIT", "total_amount": "x"]]]], token: op), code: 3, containing: "integer"
        )
        expectError(try await daemon.call("PUT", "/v1/usage/plans/FREE", json: ["credit_extension": -1], token: op), code: 3)
        let updated = try await daemon.ok(
            "PUT", "/v1/usage/plans/FREE", json: ["config": ["usage_configs": [["category": "USAGE_AI_CREDIT", "total_amount": 300]]], "credit_extension": 1], token: op)
        #expect(updated["plan"]?["config"]?["usage_configs"]?[0]?["total_amount"] == "300")
        // A field left out keeps its value: changing only credit_extension leaves the config alone.
        let business = try await daemon.ok("GET", "/v1/usage/plans/BUSINESS", token: op)["plan"]!
        let extended = try await daemon.ok("PUT", "/v1/usage/plans/BUSINESS", json: ["credit_extension": 30], token: op)["plan"]!
        #expect(extended["config"] == business["config"])
        #expect(extended["credit_extension"] == 30)
        expectError(try await daemon.call("DELETE", "/v1/usage/plans/NEW_USER_TRIAL", token: op), code: 3, containing: "used")
        expectError(try await daemon.call("DELETE", "/v1/usage/plans/PRO", token: op), code: 3, containing: "built-in")
        try await daemon.ok("DELETE", "/v1/usage/plans/\(tenantId)", token: op)
        expectError(try await daemon.call("GET", "/v1/usage/plans/\(tenantId)", token: op), code: 5)
    }

    @Test("a generated client's zero values mean not set: *_UNKNOWN in lists and analytics, team_members 0; -1 is no limit; add-ons have no plan")
    func seedZeroValues() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, tenantId) = try await daemon.owner()
        let plan = try await daemon.ok(
            "POST", "/v1/usage/plans",
            json: [
                "plan_name": .string(tenantId),
                "config": [
                    "usage_configs": [["category": "USAGE_AI_CREDIT", "total_amount": "250"]], "analytics": "ANALYTICS_UNKNOWN", "team_members": 0,
                    "lead_collections": ["LEADCOLLECTION_UNKNOWN", "LEADCOLLECTION_EMAIL"], "train_material_types": ["TRAINMAT_UNKNOWN"],
                    "integration_types": ["PLATFORM_UNKNOWN"],
                ],
            ], token: op)["plan"]!["config"]!
        #expect(plan["analytics"] == "ANALYTICS_BASIC")
        #expect(plan["team_members"] == 1)
        #expect(plan["lead_collections"] == ["LEADCOLLECTION_EMAIL"])
        #expect(plan["train_material_types"] == [])
        #expect(plan["integration_types"] == [])
        let unlimited = try await daemon.ok("PUT", "/v1/usage/plans/\(tenantId)", json: ["config": ["team_members": -1]], token: op)["plan"]!["config"]!
        #expect(unlimited["team_members"] == -1)
        expectError(try await daemon.call("PUT", "/v1/usage/plans/\(tenantId)", json: ["config": ["team_members": -2]], token: op), code: 3, containing: "-1 for no limit")

        _ = try await daemon.ok("POST", "/v1/admin/variants", json: ["kind": "addon", "category": "USAGE_AI_CREDIT", "units": 500, "price": "4.50", "currency": "EUR"], token: op)
        let addon = try await daemon.ok("GET", "/v1/subscription/addons", token: session)["variants"]![0]!
        #expect(addon["plan"] == nil, "an add-on belongs to no plan: the field is left out")
        #expect(addon["category"] == "USAGE_AI_CREDIT")

        // The seed's operations of a platform Tenantry is not: routed, code 12, saying why.
        expectError(try await daemon.call("POST", "/v1/account/session", json: ["email": "a@example.com"]), code: 12, containing: "Dify")
        expectError(try await daemon.call("GET", "/v1/user/tenants/\(tenantId)/wati", token: session), code: 12, containing: "WATI")
    }

    @Test("an owner subscribes: variant → invoice → paid by an operator → ACTIVE with credits; members may not")
    func subscribe() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, tenantId) = try await daemon.owner()
        let variant = try await daemon.ok("POST", "/v1/admin/variants", json: ["plan": "PRO", "period": "MONTHLY", "price": "19.99", "currency": "usd", "description": "Pro monthly"], token: op)[
            "variant"]!
        #expect(variant["price"] == .number("19.99"))
        #expect(variant["currency"] == "USD")
        expectError(try await daemon.call("POST", "/v1/admin/variants", json: ["plan": "PRO", "period": "MONTHLY", "price": "1.999", "currency": "USD"], token: op), code: 3, containing: "decimals")
        expectError(
            try await daemon.call("POST", "/v1/admin/variants", json: ["plan": "NEW_USER_TRIAL", "period": "MONTHLY", "price": 1, "currency": "USD"], token: op), code: 3, containing: "cannot be sold")
        _ = try await daemon.ok("POST", "/v1/admin/variants", json: ["plan": "PRO", "period": "YEARLY", "price": 199, "currency": "USD"], token: op)

        let all = try await daemon.ok("GET", "/v1/subscription/variants", token: session)["variants"]!.arrayValue!
        #expect(all.count == 2)
        #expect(try await daemon.ok("GET", "/v1/subscription/variants?period=YEARLY&plan=PRO", token: session)["variants"]?.arrayValue?.count == 1)
        expectError(try await daemon.call("GET", "/v1/subscription/variants?period=WEEKLY", token: session), code: 3)
        let variantId = variant["id"]!.string
        #expect(try await daemon.ok("GET", "/v1/subscription/variants/\(variantId)", token: session)["variant"]?["plan"] == "PRO")

        expectError(try await daemon.call("POST", "/v1/subscription/update", json: ["new_id": .string(variantId)], token: session), code: 3, containing: "create")
        expectError(try await daemon.call("POST", "/v1/subscription/create", json: ["id": "var_nope"], token: session), code: 5)
        expectError(try await daemon.call("POST", "/v1/subscription/create", json: [:], token: session), code: 3)
        let redirect = try await daemon.ok("POST", "/v1/subscription/create", json: ["id": .string(variantId)], token: session)["redirect_url"]!.string
        #expect(redirect.hasPrefix("https://app.example.test/portal#/invoices/inv_"))
        let open = try await daemon.ok("GET", "/v1/admin/invoices?status=open&tenant_id=\(tenantId)", token: op)["invoices"]!.arrayValue!
        #expect(open.count == 1)
        #expect(open[0]["total"] == .number("19.99"))
        #expect(open[0]["kind"] == "subscription")
        #expect(try await daemon.ok("GET", "/v1/subscription", token: session)["subscription"]?["status"] == "TRIALING", "nothing changes before payment")

        #expect(try await daemon.ok("GET", "/v1/admin/invoices/\(open[0]["id"]!.string)", token: op)["invoice"]?["status"] == "open")
        expectError(try await daemon.call("GET", "/v1/admin/invoices/inv_nope", token: op), code: 5)
        let paid = try await daemon.ok("POST", "/v1/admin/invoices/\(open[0]["id"]!.string)/paid", json: [:], token: op)
        #expect(paid["invoice"]?["status"] == "paid")
        #expect(paid["invoice"]?["period_start"] != .null, "the answer is the invoice as stored, with its period")
        expectError(try await daemon.call("POST", "/v1/admin/invoices/\(open[0]["id"]!.string)/paid", token: op), code: 3, containing: "not open")
        let subscription = try await daemon.ok("GET", "/v1/subscription", token: session)["subscription"]!
        #expect(subscription["plan"] == "PRO")
        #expect(subscription["period"] == "MONTHLY")
        #expect(subscription["status"] == "ACTIVE")
        #expect(try await daemon.ok("GET", "/v1/user", token: session)["user"]?["subscription_info"]?["plan"] == "PRO")

        // A plain member cannot change billing.
        try await daemon.ok("POST", "/v1/tenant/members/invite", json: ["members": [["email": "mem@example.com"]]], token: session)
        let member = try await daemon.ok("POST", "/v1/account/invite/accept", json: ["invite_token": .string(try daemon.latestInviteToken(for: "mem@example.com")), "password": "member password"])[
            "token"]!.string
        expectError(try await daemon.call("POST", "/v1/subscription/cancel", token: member), code: 7, containing: "owner")
        try await daemon.ok("GET", "/v1/subscription", token: member)

        let canceled = try await daemon.ok("POST", "/v1/subscription/cancel", json: [:], token: session)
        #expect(canceled["subscription"]?["cancel_at_period_end"] == true)
        #expect(try await daemon.ok("GET", "/v1/subscription/portal", token: session)["redirect_url"]?.string == "https://app.example.test/portal")
        let resumed = try await daemon.ok("POST", "/v1/subscription/resume", json: [:], token: session)
        #expect(resumed["subscription"]?["cancel_at_period_end"] == false)
        expectError(try await daemon.call("POST", "/v1/subscription/resume", json: [:], token: session), code: 3, containing: "not canceled")

        // The tenant's own invoices, with seed 004's fields; a member may not read them.
        let mine = try await daemon.ok("GET", "/v1/subscription/invoices", token: session)
        #expect(mine["invoices"]?.arrayValue?.count == 1)
        let invoice = try #require(mine["invoices"]?[0])
        #expect(invoice["invoice_number"]?.string.hasPrefix("INV-0000") == true)
        #expect(invoice["subtotal"] == .number("19.99") && invoice["tax"] == .number("0.00") && invoice["payment_url"] == "")
        #expect(invoice["subscription_id"] == subscription["id"])
        expectError(try await daemon.call("POST", "/v1/subscription/invoices/\(invoice["id"]!.string)/pay", token: session), code: 3, containing: "not open")
        expectError(try await daemon.call("GET", "/v1/subscription/invoices", token: member), code: 7)
        let (other, _) = try await daemon.owner("other@example.com")
        expectError(try await daemon.call("GET", "/v1/subscription/invoices/\(invoice["id"]!.string)", token: other), code: 5)
        let audit = try await daemon.ok("GET", "/v1/admin/audit?tenant_id=\(tenantId)", token: op)["entries"]!.arrayValue!
        #expect(audit.map { $0["action"]!.string } == ["subscription.resume", "subscription.cancel", "invoice.paid", "subscription.create"])
    }

    @Test("add-ons are listed, bought on one invoice, granted when paid")
    func addons() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        _ = try await daemon.ok("POST", "/v1/admin/variants", json: ["kind": "addon", "category": "USAGE_AI_CREDIT", "units": 500, "price": "4.50", "currency": "EUR"], token: op)
        let addons = try await daemon.ok("GET", "/v1/subscription/addons", token: session)["variants"]!.arrayValue!
        #expect(addons.first?["units"] == "500")
        expectError(try await daemon.call("POST", "/v1/subscription/addons/purchase", json: ["purchases": [["category": "USAGE_AI_CREDIT", "quantity": 0]]], token: session), code: 3)
        try await daemon.ok("POST", "/v1/subscription/addons/purchase", json: ["purchases": [["category": "USAGE_AI_CREDIT", "quantity": "2"]]], token: session)
        let invoice = try await daemon.ok("GET", "/v1/admin/invoices?status=open", token: op)["invoices"]![0]!
        #expect(invoice["total"] == .number("9.00"))
        try await daemon.ok("POST", "/v1/admin/invoices/\(invoice["id"]!.string)/paid", token: op)
        let usage = try await daemon.call("GET", "/v1/usage/tenants/\(tenantId)/current", token: secret)
        #expect(try usage.json()["config"]?["usage_configs"]?[0]?["total_amount"] == "11000")
    }

    @Test("coupons over HTTP: operators manage them, an owner's invoice shows the discount line, a downgrade is scheduled; revenue per currency")
    func couponsAndRevenue() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let op = try await daemon.operatorToken()
        let (session, _) = try await daemon.owner()
        let pro = try await daemon.ok("POST", "/v1/admin/variants", json: ["plan": "PRO", "period": "MONTHLY", "price": "30.00", "currency": "USD"], token: op)["variant"]!
        let business = try await daemon.ok("POST", "/v1/admin/variants", json: ["plan": "BUSINESS", "period": "MONTHLY", "price": "90.00", "currency": "USD"], token: op)["variant"]!
        let coupon = try await daemon.ok(
            "POST", "/v1/admin/coupons", json: ["code": "WELCOME", "discount_type": "percent", "discount_value": 20, "max_uses": "5", "applicable_plans": ["PRO"]], token: op)["coupon"]!
        #expect(coupon["discount_value"] == .number("20"))
        #expect(coupon["current_uses"] == "0")
        #expect(coupon["max_uses"] == "5")
        expectError(try await daemon.call("POST", "/v1/admin/coupons", json: ["code": "welcome", "discount_type": "percent", "discount_value": 5], token: op), code: 6)
        expectError(try await daemon.call("POST", "/v1/admin/coupons", json: ["code": "X", "discount_type": "fixed", "discount_value": "5"], token: op), code: 3, containing: "currency")
        expectError(try await daemon.call("POST", "/v1/subscription/create", json: ["id": pro["id"]!, "coupon": "NOPE"], token: session), code: 3, containing: "coupon NOPE does not exist")

        let change = try await daemon.ok("POST", "/v1/subscription/create", json: ["id": pro["id"]!, "coupon": "welcome"], token: session)
        #expect(change["effective_at"] == .null)
        let invoiceId = change["invoice_id"]!.string
        let invoice = try await daemon.ok("GET", "/v1/subscription/invoices/\(invoiceId)", token: session)["invoice"]!
        #expect(invoice["lines"]?.arrayValue?.map { $0["kind"] } == ["plan", "discount"])
        #expect(invoice["lines"]?[1]?["amount"] == .number("-6.00"))
        #expect(invoice["lines"]?[1]?["description"] == "Coupon WELCOME: 20% off")
        #expect(invoice["subtotal"] == .number("30.00"))
        #expect(invoice["total"] == .number("24.00"))
        #expect(try await daemon.ok("GET", "/v1/admin/coupons/\(coupon["id"]!.string)", token: op)["coupon"]?["current_uses"] == "1")
        try await daemon.ok("POST", "/v1/admin/invoices/\(invoiceId)/paid", token: op)

        // Upgrade now (with a credit line), then ask for the way back: scheduled, no invoice.
        let upgrade = try await daemon.ok("POST", "/v1/subscription/update", json: ["new_id": business["id"]!], token: session)
        let upgradeInvoice = try await daemon.ok("GET", "/v1/subscription/invoices/\(upgrade["invoice_id"]!.string)", token: session)["invoice"]!
        #expect(upgradeInvoice["lines"]?.arrayValue?.map { $0["kind"] } == ["plan", "proration"])
        try await daemon.ok("POST", "/v1/admin/invoices/\(upgrade["invoice_id"]!.string)/paid", token: op)
        let downgrade = try await daemon.ok("POST", "/v1/subscription/update", json: ["new_id": pro["id"]!], token: session)
        #expect(downgrade["invoice_id"] == "")
        let subscription = try await daemon.ok("GET", "/v1/subscription", token: session)["subscription"]!
        #expect(subscription["scheduled_variant_id"] == pro["id"])
        #expect(subscription["scheduled_at"] == downgrade["effective_at"])
        #expect(subscription["plan"] == "BUSINESS")

        let mrr = try await daemon.ok("GET", "/v1/admin/revenue/mrr", token: op)
        #expect(mrr["mrr"]?.arrayValue?.map { $0["currency"] } == ["USD"])
        #expect(mrr["mrr"]?[0]?["total_mrr"] == .number("90.00"))
        #expect(try await daemon.ok("GET", "/v1/admin/revenue/by-plan", token: op)["plans"]?[0]?["plan_name"] == "BUSINESS")
        let months = try await daemon.ok("GET", "/v1/admin/revenue/monthly?months=2", token: op)["months"]!.arrayValue!
        #expect(months.count == 2)
        #expect(months[1]["paid_count"] == "2")
        expectError(try await daemon.call("GET", "/v1/admin/revenue/monthly?months=37", token: op), code: 3)
        expectError(try await daemon.call("DELETE", "/v1/admin/coupons/\(coupon["id"]!.string)", token: op), code: 3, containing: "deactivate")
    }

    @Test("consume with an API key: debits, 402 when short, replays, conflicting keys, scopes and tenants enforced")
    func consume() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (keyId, secret) = try await daemon.apiKey(session)
        let (readOnlyId, readOnly) = try await daemon.apiKey(session, scopes: ["usage.read"])
        let path = "/v1/usage/tenants/\(tenantId)/consume"
        let body: JSON = ["category": "USAGE_AI_CREDIT", "amount": "2500", "agent_id": "sales-bot", "dataset_id": "faq", "idempotency_key": "msg-1"]
        let first = try await daemon.call("POST", path, json: body, token: secret)
        #expect(first.status == 200)
        #expect(try first.json()["consumed"] == "2500")
        #expect(try first.json()["remaining"] == "7500")
        let replay = try await daemon.call("POST", path, json: body, token: secret)
        #expect(try replay.json()["remaining"] == "7500")
        #expect(replay.header("idempotent-replayed") == "true")
        expectError(try await daemon.call("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": "msg-1"], token: secret), code: 6, containing: "different")
        let short = try await daemon.call("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 7501, "idempotency_key": "msg-2"], token: secret)
        expectError(short, code: 9, containing: "insufficient")
        try await daemon.ok("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 7500, "idempotency_key": "msg-2"], token: secret)

        expectError(try await daemon.call("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 0, "idempotency_key": "x"], token: secret), code: 3, containing: "between 1 and")
        expectError(try await daemon.call("POST", path, json: ["category": "AI", "amount": 1, "idempotency_key": "x"], token: secret), code: 3, containing: "USAGE_")
        expectError(try await daemon.call("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 1], token: secret), code: 3, containing: "idempotency_key")
        expectError(try await daemon.call("POST", path, json: body, token: readOnly), code: 7, containing: "usage.write")
        expectError(try await daemon.call("POST", path, json: body, token: session), code: 7, containing: "API key")
        let (otherSession, otherTenant) = try await daemon.owner("other@example.com")
        _ = otherSession
        expectError(try await daemon.call("POST", "/v1/usage/tenants/\(otherTenant)/consume", json: body, token: secret), code: 7, containing: "another tenant")
        expectError(try await daemon.call("POST", path, json: body, token: "tnk_forged"), code: 16)

        // Usage per agent and dataset.
        let agents = try await daemon.ok("POST", "/v1/usage/tenants/\(tenantId)/agents/credits", json: ["agent_ids": ["sales-bot", "nobody"]], token: readOnly)
        #expect(agents["agent_credits"]?["sales-bot"] == "2500")
        #expect(agents["agent_credits"]?["nobody"] == "0")
        #expect(try await daemon.ok("GET", "/v1/usage/tenants/\(tenantId)/agents/sales-bot/credits", token: session)["credits"] == "2500")
        let current = try await daemon.ok("GET", "/v1/usage/tenants/\(tenantId)/current", token: session)["config"]!
        #expect(current["current_plan"] == "NEW_USER_TRIAL")
        #expect(current["usage_configs"]?[0]?["used_amount"] == "10000")
        #expect(current["usage_configs"]?[0]?["expiration_time"] == .null, "nothing left, so nothing expires")
        #expect(current["dataset_usages"]?["faq"]?["used_amount"] == "2500")
        #expect(current["team_members"] == 5)
        expectError(try await daemon.call("GET", "/v1/usage/tenants/\(otherTenant)/current", token: session), code: 7, containing: "not a member")

        // Keys: listed without secrets, revoked at once.
        let keys = try await daemon.ok("GET", "/v1/tenant/api-keys", token: session)["api_keys"]!.arrayValue!
        #expect(keys.count == 2)
        #expect(keys.allSatisfy { !$0.objectValue!.contains { $0.0.contains("plaintext") } })
        #expect(keys.first { $0["id"]!.string == keyId }?["key_prefix"]?.string == String(secret.prefix(12)))
        try await daemon.ok("DELETE", "/v1/tenant/api-keys/\(keyId)", token: session)
        expectError(try await daemon.call("POST", path, json: body, token: secret), code: 16, containing: "revoked")
        expectError(try await daemon.call("DELETE", "/v1/tenant/api-keys/key_nope", token: session), code: 5)
        // An operator revokes any tenant's key.
        let op = try await daemon.operatorToken()
        expectError(try await daemon.call("DELETE", "/v1/admin/api-keys/\(readOnlyId)", token: session), code: 7)
        try await daemon.ok("DELETE", "/v1/admin/api-keys/\(readOnlyId)", token: op)
        expectError(try await daemon.call("GET", "/v1/usage/tenants/\(tenantId)/current", token: readOnly), code: 16, containing: "revoked")
        let audit = try await daemon.ok("GET", "/v1/admin/audit?action=api_key.revoke", token: op)["entries"]!.arrayValue!
        #expect(audit.count == 2)
        expectError(try await daemon.call("POST", "/v1/tenant/api-keys", json: ["name": "x", "scopes": ["admin"]], token: session), code: 3, containing: "scope")
        expectError(try await daemon.call("POST", "/v1/tenant/api-keys", json: ["name": "x", "expires_at": "2000-01-01T00:00:00Z"], token: session), code: 3, containing: "future")
    }

    @Test("auth/check: who is calling for a reverse proxy, with an optional metered debit")
    func authCheck() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (session, tenantId) = try await daemon.owner()
        let (_, secret) = try await daemon.apiKey(session)
        let bySession = try await daemon.call("GET", "/v1/auth/check", token: session)
        #expect(bySession.status == 200)
        #expect(bySession.header("x-tenant-id") == tenantId)
        #expect(bySession.header("x-plan") == "NEW_USER_TRIAL")
        #expect(bySession.header("x-credits-remaining") == "10000")
        #expect(bySession.header("x-user-id")?.hasPrefix("usr_") == true)
        let byKey = try await daemon.call("GET", "/v1/auth/check", token: secret, headers: [("X-Usage-Amount", "9990"), ("X-Idempotency-Key", "req-1")])
        #expect(byKey.header("x-credits-remaining") == "10")
        #expect(byKey.header("x-user-id") == nil, "a key acts for its tenant, not a user")
        let short = try await daemon.call("GET", "/v1/auth/check", token: secret, headers: [("X-Usage-Amount", "11"), ("X-Idempotency-Key", "req-2")])
        expectError(short, code: 7, containing: "insufficient")
        expectError(try await daemon.call("GET", "/v1/auth/check", token: secret, headers: [("X-Usage-Amount", "1")]), code: 3, containing: "X-Idempotency-Key")
        expectError(try await daemon.call("GET", "/v1/auth/check"), code: 16)
        expectError(try await daemon.call("GET", "/v1/auth/check", token: "tns_nope"), code: 16)
    }

    @Test("the admin API: overview, tenants, a tenant, trial end, grants, users, audit")
    func adminViews() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let firstOperator = try await daemon.operatorToken()
        let (_, tenantId) = try await daemon.owner("ada@example.com")
        _ = try await daemon.owner("bob@example.com")
        let overview = try await daemon.ok("GET", "/v1/admin/overview", token: firstOperator)
        #expect(overview["tenants_by_status"]?["TRIALING"] == "2")
        #expect(overview["trials_ending"]?.arrayValue?.count == 0)
        #expect(overview["credits_per_day"]?.arrayValue?.count == 30)
        daemon.clock.advance(seconds: 8 * 86_400)
        // Eight idle days end the operator's session (the limit is 7): log in again.
        expectError(try await daemon.call("GET", "/v1/admin/overview", token: firstOperator), code: 16)
        let operatorSession = try await daemon.operatorToken()
        #expect(try await daemon.ok("GET", "/v1/admin/overview", token: operatorSession)["trials_ending"]?.arrayValue?.count == 2)
        let op = operatorSession

        let found = try await daemon.ok("GET", "/v1/admin/tenants?q=ADA@example&status=TRIALING", token: op)
        #expect(found["tenants"]?.arrayValue?.map { $0["id"]!.string } == [tenantId])
        #expect(found["tenants"]?[0]?["balances"]?[0]?["remaining"] == "10000")
        #expect(try await daemon.ok("GET", "/v1/admin/tenants?plan=PRO", token: op)["page"]?["total"] == "0")
        expectError(try await daemon.call("GET", "/v1/admin/tenants?status=SLEEPING", token: op), code: 3)

        let moved = try await daemon.ok("POST", "/v1/admin/tenants/\(tenantId)/subscription", json: ["new_end_at": "2027-12-31T00:00:00Z"], token: op)
        #expect(moved["subscription"]?["end_at"] == "2027-12-31T00:00:00.000Z")
        expectError(try await daemon.call("POST", "/v1/admin/tenants/\(tenantId)/subscription", json: ["new_end_at": "soon"], token: op), code: 3)
        expectError(try await daemon.call("GET", "/v1/admin/tenants/tnt_nope/subscription", token: op), code: 5)
        #expect(try await daemon.ok("GET", "/v1/admin/tenants/\(tenantId)/subscription", token: op)["subscription"]?["status"] == "TRIALING")

        let grant = try await daemon.ok(
            "POST", "/v1/admin/tenants/\(tenantId)/credits", json: ["category": "USAGE_AI_CREDIT", "amount": 50, "expires_at": "2030-01-01T00:00:00Z", "reason": "outage"], token: op)
        #expect(grant["grant"]?["source"] == "operator")
        expectError(
            try await daemon.call("POST", "/v1/admin/tenants/\(tenantId)/credits", json: ["category": "USAGE_AI_CREDIT", "amount": 50, "expires_at": "2030-01-01T00:00:00Z"], token: op), code: 3,
            containing: "reason")
        let detail = try await daemon.ok("GET", "/v1/admin/tenants/\(tenantId)", token: op)
        #expect(detail["grants"]?.arrayValue?.count == 2)
        #expect(detail["members"]?[0]?["email"] == "ada@example.com")
        #expect(detail["subscriptions"]?.arrayValue?.count == 1)

        let ada = try await daemon.ok("POST", "/v1/account/login", json: ["email": "ada@example.com", "password": "correct horse battery"])["token"]!.string
        let users = try await daemon.ok("GET", "/v1/admin/users?q=ada", token: op)["users"]!.arrayValue!
        #expect(users.count == 1)
        let userId = users[0]["id"]!.string
        #expect(try await daemon.ok("POST", "/v1/admin/users/\(userId)/status", json: ["status": "DISABLED"], token: op)["user"]?["status"] == "DISABLED")
        expectError(try await daemon.call("GET", "/v1/user", token: ada), code: 16, containing: "invalid or expired")
        expectError(try await daemon.call("POST", "/v1/account/login", json: ["email": "ada@example.com", "password": "correct horse battery"]), code: 7, containing: "disabled")
        try await daemon.ok("POST", "/v1/admin/users/\(userId)/status", json: ["status": "ACTIVE"], token: op)
        try await daemon.ok("POST", "/v1/account/login", json: ["email": "ada@example.com", "password": "correct horse battery"])
        expectError(try await daemon.call("POST", "/v1/admin/users/\(userId)/status", json: ["status": "GONE"], token: op), code: 3)

        let audit = try await daemon.ok("GET", "/v1/admin/audit?action=user&limit=1", token: op)
        #expect(audit["entries"]?[0]?["action"] == "user.status")
        #expect(audit["entries"]?[0]?["after"]?["status"] == "ACTIVE")
        #expect(audit["page"]?["total"] == "2")
        #expect(audit["entries"]?[0]?["after"]?["password_hash"]?.stringValue?.contains("redacted") == true)
        expectError(try await daemon.call("POST", "/v1/admin/clock/advance", json: ["seconds": 60], token: op), code: 5, containing: "no route")
    }
}

@Suite("Metering under load over HTTP")
struct MeteringLoadTests {
    @Test("200 parallel debits over HTTP against 120 credits: exactly 120 succeed, 80 answer 402, the ledger adds up")
    func parallelDebits() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let session = try await daemon.signUp("load@example.com")
        let tenantId = try await daemon.ok("GET", "/v1/user/tenants/current", token: session)["tenant"]!["id"]!.string
        let key = try await daemon.ok("POST", "/v1/tenant/api-keys", json: ["name": "load", "scopes": ["usage.write"]], token: session)["plaintext_key"]!.string
        let path = "/v1/usage/tenants/\(tenantId)/consume"
        try await daemon.ok("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": .int64(10_000 - 120), "idempotency_key": "drain"], token: key)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await daemon.call("POST", path, json: ["category": "USAGE_AI_CREDIT", "amount": 1, "idempotency_key": .string("req-\(index)")], token: key).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 120)
        #expect(statuses.filter { $0 == 402 }.count == 80)
        #expect(try daemon.app.credits.balance(tenantId: tenantId, category: "USAGE_AI_CREDIT") == 0)
        #expect(try daemon.app.database.integrityProblems() == [])
    }
}
