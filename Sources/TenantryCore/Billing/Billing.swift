import Foundation
import GRDB

/// Invoices and what paying one does.
enum Billing {
    /// Opens an invoice for `lines`; its total is their sum.
    @discardableResult
    static func openInvoice(
        _ db: Database, tenantId: String, kind: Invoice.Kind, subscriptionId: String?, variantId: String?, plan: String, period: BillingPeriod,
        periodStart: Instant?, periodEnd: Instant?, lines: [Invoice.Line], currency: String, couponId: String? = nil, dueAt: Instant, at now: Instant
    ) throws -> Invoice {
        let total = try lines.reduce(Int64(0)) { try Amount.sum($0, $1.amountMinor, field: "the invoice's total") }
        guard total >= 0 else { throw DomainError.internalError("an invoice's lines sum to \(total)") }
        var invoice = Invoice(
            id: Secrets.identifier("inv"), number: try Invoice.nextNumber(db), tenantId: tenantId, kind: kind, subscriptionId: subscriptionId,
            variantId: variantId, plan: plan, period: period, periodStart: periodStart, periodEnd: periodEnd, lines: lines, currency: currency,
            totalMinor: total, status: .open, createdAt: now, dueAt: dueAt, paidAt: nil, paidBy: nil, voidedAt: nil
        )
        invoice.couponId = couponId
        try invoice.insert(db)
        try WebhookEvents.emit(db, "invoice.created", WebhookEvents.invoice(invoice), at: now)
        return invoice
    }

    /// Voids the tenant's unpaid plan changes (their coupons' uses come back with them): a new
    /// change replaces them, and the end of the period they credited makes them unpayable.
    static func voidPendingChanges(_ db: Database, tenantId: String, at now: Instant) throws {
        try db.execute(sql: "UPDATE invoice SET status = 'void', voided_at = ? WHERE tenant_id = ? AND kind = 'subscription' AND status = 'open'", arguments: [now, tenantId])
    }

    /// The line that charges a plan's price for one period.
    static func planLine(_ variant: Variant?, plan: String, period: BillingPeriod) -> Invoice.Line {
        Invoice.Line(
            kind: .plan, description: "\(plan) \(period.rawValue.lowercased())", amountMinor: variant?.priceMinor ?? 0, quantity: 1, variantId: variant?.id ?? "")
    }

    /// How a paid, active subscription moves to `variant`.
    enum PlanChange: Equatable {
        /// When the new invoice is paid, with `creditMinor` (the unused part of the paid period)
        /// taken off it.
        case whenPaid(credit: Invoice.Line?)
        /// At the end of the current period; `reason` says why not now.
        case atPeriodEnd(reason: String)
    }

    /// An upgrade (the new price per month at least the current one's, in the same currency)
    /// takes effect when paid, crediting what is unused of the paid period. A downgrade waits
    /// for the period's end, as does a change whose credit would exceed the new price (a
    /// yearly plan moved to a monthly one): the customer then loses nothing.
    static func planChange(_ db: Database, from live: Subscription, to variant: Variant, at now: Instant) throws -> PlanChange {
        guard let end = live.endAt, let newMonths = variant.period.months, let months = live.period.months else {
            return .atPeriodEnd(reason: "the subscription has no period")
        }
        let current = try live.variantId.flatMap { try Variant.fetchOne(db, key: $0) }
        if let current {
            guard current.currency == variant.currency else {
                return .atPeriodEnd(reason: "the new price is in \(variant.currency) and the current one in \(current.currency)")
            }
            let (newPerMonth, currentPerMonth) = (variant.priceMinor.multipliedFullWidth(by: Int64(months)), current.priceMinor.multipliedFullWidth(by: Int64(newMonths)))
            if newPerMonth.high < currentPerMonth.high || (newPerMonth.high == currentPerMonth.high && newPerMonth.low < currentPerMonth.low) {
                return .atPeriodEnd(reason: "it costs less per month than the current price")
            }
        }
        // What was paid for the period under way (nothing yet during a renewal's grace).
        guard
            let paid = try Invoice.fetchOne(
                db,
                sql: """
                    SELECT * FROM invoice WHERE subscription_id = ? AND status = 'paid' AND kind IN ('subscription', 'renewal') AND period_end = ?
                    ORDER BY paid_at DESC LIMIT 1
                    """, arguments: [live.id, end]),
            let start = paid.periodStart, end > now, end > start, paid.currency == variant.currency
        else { return .whenPaid(credit: nil) }
        let remaining = end.milliseconds - max(now.milliseconds, start.milliseconds)
        let kept = paid.totalMinor - paid.refundedMinor
        // Rounded down: kept × remaining / span, without overflow.
        let credit = (end.milliseconds - start.milliseconds).dividingFullWidth(kept.multipliedFullWidth(by: remaining)).quotient
        guard credit > 0 else { return .whenPaid(credit: nil) }
        guard credit <= variant.priceMinor else {
            return .atPeriodEnd(reason: "the unused part of the current period (\(Money.decimal(credit, currency: paid.currency)) \(paid.currency)) is more than the new price")
        }
        let days = (remaining + 43_200_000) / 86_400_000
        return .whenPaid(
            credit: Invoice.Line(
                kind: .proration, description: "Unused time on \(live.plan) \(live.period.rawValue.lowercased()): \(days) days until \(end.rfc3339.prefix(10))",
                amountMinor: -credit))
    }

    /// Marks an open invoice paid and applies it: a new or changed subscription starts now;
    /// a renewal's period gets its allowances (and PAST_DUE becomes ACTIVE again); bought
    /// add-on credits are granted. Audited as `actor`'s, whoever confirmed the payment, with
    /// the provider's `payment` (its checkout session and payment) when it came through one.
    @discardableResult
    static func settle(
        _ db: Database, invoiceId: String, by actor: AuditActor, at now: Instant, settings: Settings, payment: (sessionId: String, intentId: String)? = nil
    ) throws -> Invoice {
        guard var invoice = try Invoice.fetchOne(db, key: invoiceId) else { throw DomainError.notFound("no invoice \(invoiceId)") }
        let before = invoice
        guard invoice.status == .open else {
            throw DomainError.invalidArgument("invoice \(invoice.number) is \(invoice.status.rawValue), not open")
        }
        if let payment {
            invoice.paymentSessionId = payment.sessionId
            invoice.paymentIntentId = payment.intentId
        }
        invoice.status = .paid
        invoice.paidAt = now
        invoice.paidBy = actor.email
        switch invoice.kind {
        case .subscription:
            guard let months = invoice.period.months else { throw DomainError.internalError("invoice \(invoice.id) has no period") }
            var wasPaid = false
            if var live = try Subscription.live(db, tenantId: invoice.tenantId) {
                wasPaid = live.isPaid
                try Subscriptions.end(db, &live, status: live.isPaid ? .canceled : .expired, at: now, now: now, announce: false)
                // The period the change credited ends now, and its allowance with it.
                if wasPaid {
                    try db.execute(
                        sql: """
                            UPDATE credit_grant SET expires_at = max(effective_at + 1, ?1), rollover_due_at = NULL
                            WHERE expired = 0 AND expires_at > ?1 AND source = 'plan' AND entitlement_id IN (SELECT id FROM entitlement WHERE subscription_id = ?2)
                            """, arguments: [now, live.id])
                }
            }
            let subscription = try Subscriptions.begin(
                db, tenantId: invoice.tenantId, plan: invoice.plan, period: invoice.period, status: .active, start: now,
                end: Months.add(months, to: now), variantId: invoice.variantId, at: now
            )
            try WebhookEvents.emit(db, wasPaid ? "subscription.changed" : "subscription.activated", WebhookEvents.subscription(subscription), at: now)
            invoice.subscriptionId = subscription.id
            invoice.periodStart = now
            invoice.periodEnd = subscription.endAt
            try Allowances.open(db, subscription: subscription, kind: .period, start: now, end: subscription.endAt, invoiceId: invoice.id, paid: true, at: now)
        case .renewal:
            if var entitlement = try Entitlement.filter(Entitlement.Columns.invoiceId == invoice.id).fetchOne(db) {
                entitlement.paid = true
                try entitlement.update(db)
                try Allowances.grantDue(db, &entitlement, at: now)
            }
            try db.execute(sql: "UPDATE subscription SET status = 'ACTIVE', updated_at = ? WHERE id = ? AND status = 'PAST_DUE'", arguments: [now, invoice.subscriptionId])
        case .addon:
            for line in invoice.lines where line.kind == .addon {
                var grant = CreditGrant.new(
                    tenantId: invoice.tenantId, category: line.category, amount: try Amount.product(line.quantity, line.units, field: "the add-on's credits"), effectiveAt: now,
                    expiresAt: now.adding(days: settings.addonValidityDays), source: .addon, invoiceId: invoice.id,
                    reason: "add-on invoice \(invoice.number)", now: now
                )
                try Ledger.insert(&grant, db, at: now)
            }
        }
        try invoice.update(db)
        try WebhookEvents.emit(db, "invoice.paid", WebhookEvents.invoice(invoice), at: now)
        try AuditLog.record(db, actor: actor, action: "invoice.paid", targetType: "invoice", targetId: invoice.id, tenantId: invoice.tenantId, before: before, after: invoice, at: now)
        return invoice
    }
}
