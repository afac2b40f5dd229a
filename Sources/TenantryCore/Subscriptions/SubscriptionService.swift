import Foundation
import GRDB

/// What tenant owners do with their subscription, and what operators do for them.
public struct SubscriptionService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }

    public func current(tenantId: String) throws -> Subscription? {
        try database.read { try Subscription.live($0, tenantId: tenantId) }
    }

    /// The plan the tenant is on now: its live subscription's, else FREE.
    public func planName(tenantId: String) throws -> String {
        try database.read { try Subscriptions.planName($0, tenantId: tenantId) }
    }

    /// The tenant's subscriptions, newest first (the live one, then its history).
    public func history(tenantId: String) throws -> [Subscription] {
        try database.read { try Subscription.filter(Subscription.Columns.tenantId == tenantId).order(Subscription.Columns.startAt.desc, Subscription.Columns.createdAt.desc).fetchAll($0) }
    }

    /// What asking for a plan did: an invoice to pay, or a change scheduled for the period's end.
    public struct Change: Sendable {
        public let redirectURL: String
        /// The invoice opened (already paid when nothing was due); nil when scheduled.
        public let invoice: Invoice?
        /// When a downgrade takes effect; nil when the change takes effect once paid.
        public let effectiveAt: Instant?
    }

    /// Opens an invoice for a first paid subscription; it starts when the invoice is paid.
    public func create(_ principal: Principal, variantId: String, coupon: String = "") async throws -> Change {
        try await change(principal, variantId: variantId, coupon: coupon, isUpdate: false)
    }

    /// Moves a paid subscription to another plan or period: an upgrade once its invoice is
    /// paid (crediting the unused part of the period), a downgrade at the period's end.
    public func update(_ principal: Principal, variantId: String, coupon: String = "") async throws -> Change {
        try await change(principal, variantId: variantId, coupon: coupon, isUpdate: true)
    }

    private func change(_ principal: Principal, variantId: String, coupon code: String, isUpdate: Bool) async throws -> Change {
        let tenantId = try principal.tenant(atLeast: .owner)
        let field = isUpdate ? "new_id" : "id"
        guard !variantId.isEmpty else { throw DomainError.invalidArgument("\(field) is required: a variant id from GET /v1/subscription/variants") }
        let now = context.clock.now()
        let actor = AuditActor(principal)
        let settings = context.settings
        let outcome = try await database.write { db -> Change in
            guard let variant = try Variant.fetchOne(db, key: variantId), variant.kind == .plan, variant.active else {
                throw DomainError.notFound("no subscription variant \(variantId)")
            }
            let live = try Subscription.live(db, tenantId: tenantId)
            let hasPaid = live.map { $0.isPaid && $0.status != .pastDue } ?? false
            if isUpdate && !hasPaid { throw DomainError.invalidArgument("there is no paid subscription to update: use POST /v1/subscription/create") }
            if !isUpdate && hasPaid { throw DomainError.invalidArgument("the tenant already has a paid subscription: use POST /v1/subscription/update") }
            if let live, live.variantId == variant.id, live.status == .active {
                throw DomainError.alreadyExists(
                    live.scheduledVariantId == nil
                        ? "the tenant is already subscribed to this variant"
                        : "the tenant is already subscribed to this variant: POST /v1/subscription/resume drops the change scheduled for the period's end")
            }
            // One pending change at a time: an older unpaid one is replaced.
            try Billing.voidPendingChanges(db, tenantId: tenantId, at: now)
            var lines = [Billing.planLine(variant, plan: variant.plan, period: variant.period)]
            if isUpdate, var live {
                switch try Billing.planChange(db, from: live, to: variant, at: now) {
                case .atPeriodEnd(let reason):
                    let end = live.endAt ?? now
                    guard code.isEmpty else {
                        throw DomainError.invalidArgument("a coupon applies to a change paid now; this one waits for the period's end (\(end.rfc3339)) because \(reason)")
                    }
                    let before = live
                    live.scheduledVariantId = variant.id
                    live.cancelAtPeriodEnd = false
                    live.updatedAt = now
                    try live.update(db)
                    try AuditLog.record(
                        db, actor: actor, action: "subscription.schedule_change", targetType: "subscription", targetId: live.id, tenantId: tenantId, before: before, after: live,
                        at: now)
                    return Change(redirectURL: context.url("/portal"), invoice: nil, effectiveAt: end)
                case .whenPaid(let credit):
                    if let credit { lines.append(credit) }
                }
            }
            var couponId: String?
            if !code.isEmpty {
                let coupon = try Coupon.redeemable(db, code: code, plan: variant.plan, currency: variant.currency, at: now)
                let due = lines.reduce(Int64(0)) { $0 + $1.amountMinor }
                lines.append(Invoice.Line(kind: .discount, description: coupon.label, amountMinor: -coupon.discount(on: due)))
                couponId = coupon.id
            }
            var invoice = try Billing.openInvoice(
                db, tenantId: tenantId, kind: .subscription, subscriptionId: nil, variantId: variant.id, plan: variant.plan, period: variant.period,
                periodStart: nil, periodEnd: nil, lines: lines, currency: variant.currency, couponId: couponId, dueAt: now.adding(days: 7), at: now
            )
            try AuditLog.record(
                db, actor: actor, action: isUpdate ? "subscription.update" : "subscription.create", targetType: "invoice", targetId: invoice.id,
                tenantId: tenantId, before: live, after: invoice, at: now)
            // Nothing to pay (a full discount or credit): it takes effect now.
            if invoice.totalMinor == 0 { invoice = try Billing.settle(db, invoiceId: invoice.id, by: actor, at: now, settings: settings) }
            return Change(redirectURL: "", invoice: invoice, effectiveAt: nil)
        }
        guard let invoice = outcome.invoice else { return outcome }
        return Change(redirectURL: try await checkoutURL(invoice), invoice: invoice, effectiveAt: nil)
    }

    /// Where the payer goes for an invoice: Stripe Checkout when Stripe is configured (one
    /// session per invoice, reused for a day), else the configured checkout, else the
    /// portal's invoice page (the operator's manual-payment instructions).
    func checkoutURL(_ invoice: Invoice) async throws -> String {
        // A paid invoice (nothing was due) has its receipt page.
        guard invoice.status == .open else { return context.url("/portal#/invoices/\(invoice.id)") }
        if let stripe = context.payments.stripe, invoice.totalMinor > 0 {
            let now = context.clock.now()
            if let url = invoice.paymentUrl, let made = invoice.paymentSessionAt, made.adding(seconds: 23 * 3600) > now { return url }
            let back = context.url("/portal#/invoices/\(invoice.id)")
            let session = try await stripe.checkoutSession(
                for: invoice, description: Self.describe(invoice), successURL: back + "?checkout=success", cancelURL: back + "?checkout=canceled")
            try await database.write { db in
                try db.execute(
                    sql: "UPDATE invoice SET payment_session_id = ?, payment_url = ?, payment_session_at = ? WHERE id = ?", arguments: [session.id, session.url, now, invoice.id])
            }
            return session.url
        }
        let template = context.settings.checkoutURL
        guard !template.isEmpty else { return context.url("/portal#/invoices/\(invoice.id)") }
        return
            template
            .replacingOccurrences(of: "{invoice_id}", with: invoice.id)
            .replacingOccurrences(of: "{tenant_id}", with: invoice.tenantId)
            .replacingOccurrences(of: "{amount}", with: Money.decimal(invoice.totalMinor, currency: invoice.currency))
            .replacingOccurrences(of: "{currency}", with: invoice.currency)
    }

    /// What the payer reads on the provider's page.
    static func describe(_ invoice: Invoice) -> String {
        switch invoice.kind {
        case .subscription, .renewal: "Tenantry \(invoice.plan) (\(invoice.period.rawValue.lowercased())), invoice \(invoice.number)"
        case .addon: "Tenantry credits, invoice \(invoice.number)"
        }
    }

    /// The tenant's invoices, newest first.
    public func invoices(_ principal: Principal, page: Int, limit: Int) async throws -> TenantService.Page<Invoice> {
        let tenantId = try principal.tenant(atLeast: .admin)
        let paging = try Paging(page: page, limit: limit)
        return try await database.report { db in
            let request = Invoice.filter(Invoice.Columns.tenantId == tenantId)
            let items = try request.order(Invoice.Columns.createdAt.desc, Invoice.Columns.number.desc).limit(paging.limit, offset: paging.offset).fetchAll(db)
            return TenantService.Page(items: items, page: page, limit: limit, total: try request.fetchCount(db))
        }
    }

    /// One of the tenant's invoices; another tenant's is not found.
    public func invoice(_ principal: Principal, id: String) throws -> Invoice {
        let tenantId = try principal.tenant(atLeast: .admin)
        guard let invoice = try database.read({ try Invoice.fetchOne($0, key: id) }), invoice.tenantId == tenantId else { throw DomainError.notFound("no invoice \(id)") }
        return invoice
    }

    /// Where to pay one of the tenant's open invoices.
    public func payURL(_ principal: Principal, invoiceId: String) async throws -> String {
        let invoice = try invoice(principal, id: invoiceId)
        guard invoice.status == .open else { throw DomainError.invalidArgument("invoice \(invoice.number) is \(invoice.status.rawValue), not open") }
        return try await checkoutURL(invoice)
    }

    /// The tenant's billing page.
    public func portal(_ principal: Principal) throws -> String {
        let tenantId = try principal.tenant(atLeast: .owner)
        let template = context.settings.billingPortalURL
        guard !template.isEmpty else { return context.url("/portal") }
        return template.replacingOccurrences(of: "{tenant_id}", with: tenantId)
    }

    /// Ends the paid subscription at the end of its period (the tenant then falls to FREE).
    public func cancel(_ principal: Principal) async throws -> Subscription {
        try await setCancelAtPeriodEnd(principal, true)
    }

    /// Undoes a cancellation or a scheduled change before the period ends: the subscription
    /// renews as it is.
    public func resume(_ principal: Principal) async throws -> Subscription {
        try await setCancelAtPeriodEnd(principal, false)
    }

    private func setCancelAtPeriodEnd(_ principal: Principal, _ cancel: Bool) async throws -> Subscription {
        let tenantId = try principal.tenant(atLeast: .owner)
        let now = context.clock.now()
        let actor = AuditActor(principal)
        return try await database.write { db in
            guard var live = try Subscription.live(db, tenantId: tenantId), live.isPaid else {
                throw DomainError.invalidArgument("there is no paid subscription to \(cancel ? "cancel" : "resume")")
            }
            guard cancel || live.cancelAtPeriodEnd || live.scheduledVariantId != nil else {
                throw DomainError.invalidArgument("the subscription is not canceled and has no scheduled change")
            }
            let before = live
            live.cancelAtPeriodEnd = cancel
            // Either way the scheduled downgrade is off: canceling ends the plan, resuming keeps it.
            live.scheduledVariantId = nil
            live.updatedAt = now
            try live.update(db)
            try AuditLog.record(
                db, actor: actor, action: cancel ? "subscription.cancel" : "subscription.resume", targetType: "subscription", targetId: live.id, tenantId: tenantId,
                before: before, after: live, at: now)
            return live
        }
    }

    public struct Purchase: Sendable {
        public let category: String
        public let quantity: Int64
        public init(category: String, quantity: Int64) {
            self.category = category
            self.quantity = quantity
        }
    }

    /// Opens one invoice for add-on credits; they are granted when it is paid.
    public func purchaseAddons(_ principal: Principal, _ purchases: [Purchase]) async throws -> String {
        let tenantId = try principal.tenant(atLeast: .owner)
        guard !purchases.isEmpty else { throw DomainError.invalidArgument("purchases must list at least one add-on") }
        guard purchases.count <= 20 else { throw DomainError.invalidArgument("at most 20 purchases at once") }
        for (index, purchase) in purchases.enumerated() {
            try PlanConfig.validateCategory(purchase.category, field: "purchases[\(index)].category")
            guard (1...1_000_000).contains(purchase.quantity) else {
                throw DomainError.invalidArgument("purchases[\(index)].quantity must be between 1 and 1000000")
            }
        }
        let now = context.clock.now()
        let actor = AuditActor(principal)
        let invoice = try await database.write { db -> Invoice in
            var lines: [Invoice.Line] = []
            var currency: String?
            for purchase in purchases {
                guard let variant = try Variant.filter(Variant.Columns.kind == "addon" && Variant.Columns.category == purchase.category && Variant.Columns.active == true).fetchOne(db) else {
                    throw DomainError.notFound("no add-on is sold for \(purchase.category)")
                }
                guard currency == nil || currency == variant.currency else {
                    throw DomainError.invalidArgument("these add-ons are priced in different currencies: buy them separately")
                }
                currency = variant.currency
                let credits = try Amount.product(variant.units, purchase.quantity, field: "purchases[].quantity × units")
                _ = try Amount.sum(try Ledger.grantedLeft(db, tenantId: tenantId, category: purchase.category, at: now), credits, field: "the \(purchase.category) balance")
                lines.append(
                    Invoice.Line(
                        kind: .addon, description: "\(credits) \(purchase.category) credits (\(purchase.quantity) × \(variant.units))",
                        amountMinor: try Amount.product(variant.priceMinor, purchase.quantity, field: "the price"), category: purchase.category, quantity: purchase.quantity,
                        units: variant.units, variantId: variant.id))
            }
            let invoice = try Billing.openInvoice(
                db, tenantId: tenantId, kind: .addon, subscriptionId: nil, variantId: nil, plan: "", period: .notDefined, periodStart: nil,
                periodEnd: nil, lines: lines, currency: currency ?? "USD", dueAt: now.adding(days: 7), at: now
            )
            try AuditLog.record(db, actor: actor, action: "addons.purchase", targetType: "invoice", targetId: invoice.id, tenantId: tenantId, before: AuditLog.nothing, after: invoice, at: now)
            return invoice
        }
        return try await checkoutURL(invoice)
    }

    // MARK: - Operators

    /// Moves the end of a tenant's trial (the only change AdminChangeTenantSubscription
    /// allows); unexpired trial credits follow the new end.
    public func changeTrialEnd(tenantId: String, to newEnd: Instant, by actor: AuditActor) async throws -> Subscription {
        let now = context.clock.now()
        return try await database.write { db in
            guard var live = try Subscription.live(db, tenantId: tenantId) else { throw DomainError.notFound("tenant \(tenantId) has no subscription") }
            guard live.status == .trialing else {
                throw DomainError.invalidArgument("only a trial's end can be changed; this subscription is \(live.status.rawValue)")
            }
            guard newEnd > live.startAt else { throw DomainError.invalidArgument("new_end_at must be after the trial's start (\(live.startAt.rfc3339))") }
            let before = live
            live.endAt = newEnd
            live.updatedAt = now
            try live.update(db)
            let extensionDays = try Plan.effective(db, planName: live.plan, tenantId: tenantId)?.creditExtensionDays ?? 0
            try db.execute(sql: "UPDATE entitlement SET end_at = ? WHERE subscription_id = ? AND kind = 'trial'", arguments: [newEnd, live.id])
            try db.execute(
                sql: """
                    UPDATE credit_grant SET expires_at = max(effective_at + 1, ?) WHERE source = 'trial' AND expired = 0
                    AND entitlement_id IN (SELECT id FROM entitlement WHERE subscription_id = ?)
                    """, arguments: [newEnd.adding(days: Int64(extensionDays)), live.id])
            try AuditLog.record(db, actor: actor, action: "subscription.trial_end", targetType: "subscription", targetId: live.id, tenantId: tenantId, before: before, after: live, at: now)
            return live
        }
    }

    public func invoices(tenantId: String?, status: String?, limit: Int = 200) async throws -> [Invoice] {
        if let status, !status.isEmpty, Invoice.Status(rawValue: status) == nil {
            throw DomainError.invalidArgument("status must be open, paid or void")
        }
        return try await database.report { db in
            var request = Invoice.order(Invoice.Columns.createdAt.desc, Invoice.Columns.number.desc).limit(limit)
            if let tenantId, !tenantId.isEmpty { request = request.filter(Invoice.Columns.tenantId == tenantId) }
            if let status, !status.isEmpty { request = request.filter(Invoice.Columns.status == status) }
            return try request.fetchAll(db)
        }
    }

    public func invoice(id: String) throws -> Invoice {
        guard let invoice = try database.read({ try Invoice.fetchOne($0, key: id) }) else { throw DomainError.notFound("no invoice \(id)") }
        return invoice
    }

    /// Confirms a payment by hand: the invoice's subscription or credits take effect.
    public func markPaid(invoiceId: String, by actor: AuditActor) async throws -> Invoice {
        let now = context.clock.now()
        let settings = context.settings
        return try await database.write { db in try Billing.settle(db, invoiceId: invoiceId, by: actor, at: now, settings: settings) }
    }
}
