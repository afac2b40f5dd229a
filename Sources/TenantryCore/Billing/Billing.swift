import Foundation
import GRDB

/// Invoices and what paying one does.
enum Billing {
    @discardableResult
    static func openInvoice(
        _ db: Database, tenantId: String, kind: Invoice.Kind, subscriptionId: String?, variant: Variant?, plan: String, period: BillingPeriod,
        periodStart: Instant?, periodEnd: Instant?, lines: [Invoice.Line], dueAt: Instant, at now: Instant, total: Int64? = nil, currency: String? = nil
    ) throws -> Invoice {
        let invoice = Invoice(
            id: Secrets.identifier("inv"), number: try Invoice.nextNumber(db), tenantId: tenantId, kind: kind, subscriptionId: subscriptionId,
            variantId: variant?.id, plan: plan, period: period, periodStart: periodStart, periodEnd: periodEnd,
            lines: lines,
            currency: currency ?? variant?.currency ?? "USD", totalMinor: total ?? variant?.priceMinor ?? 0, status: .open,
            createdAt: now, dueAt: dueAt, paidAt: nil, paidBy: nil, voidedAt: nil
        )
        try invoice.insert(db)
        try WebhookEvents.emit(db, "invoice.created", WebhookEvents.invoice(invoice), at: now)
        return invoice
    }

    /// Marks an open invoice paid and applies it: a new or changed subscription starts now;
    /// a renewal's period gets its allowances (and PAST_DUE becomes ACTIVE again); bought
    /// add-on credits are granted. Audited as `actor`'s, whoever confirmed the payment.
    @discardableResult
    static func settle(_ db: Database, invoiceId: String, by actor: AuditActor, at now: Instant, settings: Settings) throws -> Invoice {
        guard var invoice = try Invoice.fetchOne(db, key: invoiceId) else { throw DomainError.notFound("no invoice \(invoiceId)") }
        let before = invoice
        guard invoice.status == .open else {
            throw DomainError.invalidArgument("invoice \(invoice.number) is \(invoice.status.rawValue), not open")
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
            for line in invoice.lines {
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
