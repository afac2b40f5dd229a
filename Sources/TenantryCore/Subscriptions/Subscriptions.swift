import GRDB

/// What a tenant's subscription looks like from outside (the seed's `subscription_info`).
public struct SubscriptionInfo: Sendable, Equatable {
    public var plan: String
    public var period: String
    public var status: String
    public var startAt: Instant?
    public var endAt: Instant?

    public static let none = SubscriptionInfo(plan: "FREE", period: "NOT_DEFINE", status: "NO_SUBSCRIPTION", startAt: nil, endAt: nil)
}

/// The subscription state machine. Every transition is derived from stored timestamps, so
/// running it again, or after a crash half-way, or after months of downtime, ends in the
/// state one clean run at the right times would have reached.
///
///     new tenant ─▶ TRIALING ──end_at passes──▶ EXPIRED ─▶ FREE (ACTIVE, NOT_DEFINE)
///     invoice paid ─▶ ACTIVE (paid plan) ──period end──▶ next period + renewal invoice
///     renewal unpaid past grace ─▶ PAST_DUE ──past_due days──▶ EXPIRED ─▶ FREE
///     cancel_at_period_end ──period end──▶ CANCELED ─▶ FREE
public enum Subscriptions {
    static let freePlan = "FREE"

    /// The plan the tenant is on now: its live subscription's, else FREE.
    static func planName(_ db: Database, tenantId: String) throws -> String {
        try Subscription.live(db, tenantId: tenantId)?.plan ?? freePlan
    }

    /// Starts a new tenant on the configured plan, in the write that creates the tenant.
    static func startNewTenant(_ db: Database, tenantId: String, at now: Instant, settings: Settings) throws {
        guard let plan = try Plan.fetch(db, name: settings.newTenantPlan) else {
            throw DomainError.internalError("the new-tenant plan \(settings.newTenantPlan) does not exist")
        }
        if let days = plan.trialDays {
            let subscription = try begin(db, tenantId: tenantId, plan: plan.name, period: .notDefined, status: .trialing, start: now, end: now.adding(days: Int64(days)), variantId: nil, at: now)
            try Allowances.open(db, subscription: subscription, kind: .trial, start: now, end: subscription.endAt, invoiceId: nil, paid: true, at: now)
        } else {
            try startFree(db, tenantId: tenantId, from: now, at: now, plan: plan.name)
        }
    }

    /// The tenant's live subscription as the seed reports it.
    public static func info(_ db: Database, tenantId: String?) throws -> SubscriptionInfo {
        guard let tenantId else { return .none }
        return try Subscription.live(db, tenantId: tenantId)?.info ?? .none
    }

    /// The most members (and pending invites) the tenant's plan allows; nil means no limit.
    static func teamMemberLimit(_ db: Database, tenantId: String) throws -> Int? {
        guard let live = try Subscription.live(db, tenantId: tenantId),
            let plan = try Plan.effective(db, planName: live.plan, tenantId: tenantId),
            plan.config.teamMembers != PlanConfig.noMemberLimit
        else { return nil }
        return plan.config.teamMembers
    }

    // MARK: - Transitions

    @discardableResult
    static func begin(
        _ db: Database, tenantId: String, plan: String, period: BillingPeriod, status: SubscriptionStatus, start: Instant, end: Instant?,
        variantId: String?, at now: Instant, plans: PlanCache = PlanCache()
    ) throws -> Subscription {
        let subscription = Subscription(
            id: Secrets.identifier("sub"), tenantId: tenantId, plan: plan, period: period, status: status, variantId: variantId,
            startAt: start, endAt: end, cancelAtPeriodEnd: false, endedAt: nil, createdAt: now, updatedAt: now
        )
        try db.cachedStatement(
            sql: """
                INSERT INTO subscription (id, tenant_id, plan, period, status, variant_id, start_at, end_at, cancel_at_period_end, ended_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)
                """
        ).execute(arguments: [subscription.id, tenantId, plan, period.rawValue, status.rawValue, variantId, start, end, now, now])
        try plans.markUsed(db, name: plan, at: now)
        if plan == "CUSTOM" { try plans.markUsed(db, name: tenantId, at: now) }
        return subscription
    }

    /// Ends the live subscription at `at` with `status`, and stops its allowances there.
    /// `announce` false: the caller announces what replaces it (a plan change) instead.
    static func end(_ db: Database, _ subscription: inout Subscription, status: SubscriptionStatus, at end: Instant, now: Instant, announce: Bool = true) throws {
        subscription.status = status
        subscription.endedAt = end
        subscription.updatedAt = now
        try db.cachedStatement(sql: "UPDATE subscription SET status = ?, ended_at = ?, updated_at = ? WHERE id = ?")
            .execute(arguments: [status.rawValue, end, now, subscription.id])
        // Months not yet granted after the end are not owed; open FREE time stops here.
        try db.cachedStatement(sql: "UPDATE entitlement SET next_grant_at = NULL WHERE subscription_id = ? AND next_grant_at >= ?").execute(arguments: [subscription.id, end])
        try db.cachedStatement(sql: "UPDATE entitlement SET end_at = ? WHERE subscription_id = ? AND kind = 'free' AND end_at IS NULL").execute(arguments: [end, subscription.id])
        try db.cachedStatement(sql: "UPDATE invoice SET status = 'void', voided_at = ? WHERE subscription_id = ? AND status = 'open'").execute(arguments: [now, subscription.id])
        guard announce else { return }
        switch status {
        case .canceled: try WebhookEvents.emit(db, "subscription.canceled", WebhookEvents.subscription(subscription), at: now)
        case .expired: try WebhookEvents.emit(db, "subscription.expired", WebhookEvents.subscription(subscription), at: now)
        default: break
        }
    }

    /// Puts the tenant on FREE from `start` on (ACTIVE, NOT_DEFINE), granting what is due.
    @discardableResult
    static func startFree(_ db: Database, tenantId: String, from start: Instant, at now: Instant, plan: String = freePlan, plans: PlanCache = PlanCache()) throws -> Subscription {
        let subscription = try begin(db, tenantId: tenantId, plan: plan, period: .notDefined, status: .active, start: start, end: nil, variantId: nil, at: now, plans: plans)
        try Allowances.open(db, subscription: subscription, kind: .free, start: start, end: nil, invoiceId: nil, paid: true, at: now, plans: plans)
        return subscription
    }

    /// Expires every trial whose end has passed; the tenant falls back to FREE from the
    /// trial's end. Answers how many trials ended.
    static func expireTrials(_ db: Database, at now: Instant, limit: Int) throws -> Int {
        let due = try Subscription.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM subscription WHERE ended_at IS NULL AND status = 'TRIALING' AND end_at <= ? ORDER BY end_at LIMIT ?"),
            arguments: [now, limit]
        )
        let plans = PlanCache()
        for var trial in due {
            let end = trial.endAt ?? now
            try self.end(db, &trial, status: .expired, at: end, now: now)
            try startFree(db, tenantId: trial.tenantId, from: end, at: now, plans: plans)
        }
        return due.count
    }

    /// Announces `subscription.trial_will_end` once for each trial that ends within 3 days.
    static func warnEndingTrials(_ db: Database, at now: Instant, limit: Int) throws -> Int {
        let due = try Subscription.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT s.* FROM subscription s WHERE s.ended_at IS NULL AND s.status = 'TRIALING' AND s.end_at <= ? AND s.end_at > ?
                    AND NOT EXISTS (SELECT 1 FROM trial_warning w WHERE w.subscription_id = s.id) ORDER BY s.end_at LIMIT ?
                    """),
            arguments: [now.adding(days: 3), now, limit]
        )
        for trial in due {
            try db.execute(sql: "INSERT INTO trial_warning (subscription_id, warned_at) VALUES (?, ?)", arguments: [trial.id, now])
            try WebhookEvents.emit(db, "subscription.trial_will_end", WebhookEvents.subscription(trial), at: now)
        }
        return due.count
    }

    /// Moves paid subscriptions through their periods: at a period's end, cancel or open the
    /// next period and its invoice; an invoice unpaid past its grace makes the subscription
    /// PAST_DUE, and past that EXPIRED → FREE. Events are applied in time order, so a long
    /// downtime is caught up period by period. Answers how many subscriptions moved.
    static func advancePaid(_ db: Database, at now: Instant, settings: Settings, limit: Int) throws -> Int {
        let pastDueMs = settings.pastDueDays * 86_400_000
        let due = try Subscription.fetchAll(
            db,
            sql: """
                SELECT * FROM subscription s
                WHERE s.ended_at IS NULL AND s.period != 'NOT_DEFINE' AND (
                    s.end_at <= ?1
                    OR EXISTS (SELECT 1 FROM invoice i WHERE i.subscription_id = s.id AND i.kind = 'renewal' AND i.status = 'open'
                               AND ((s.status = 'ACTIVE' AND i.due_at <= ?1) OR (s.status = 'PAST_DUE' AND i.due_at + ?2 <= ?1))))
                ORDER BY s.end_at LIMIT ?3
                """, arguments: [now, pastDueMs, limit])
        for var subscription in due {
            try advance(db, &subscription, at: now, settings: settings)
        }
        return due.count
    }

    private static func advance(_ db: Database, _ subscription: inout Subscription, at now: Instant, settings: Settings) throws {
        while subscription.endedAt == nil {
            let overdue = try Invoice.filter(
                Invoice.Columns.subscriptionId == subscription.id && Invoice.Columns.kind == Invoice.Kind.renewal.rawValue && Invoice.Columns.status == Invoice.Status.open.rawValue
            )
            .order(Invoice.Columns.dueAt).fetchOne(db)
            let periodEnd = subscription.endAt ?? now
            if let overdue {
                let expiry = overdue.dueAt.adding(days: settings.pastDueDays)
                if expiry <= now, expiry <= periodEnd {
                    try end(db, &subscription, status: .expired, at: expiry, now: now)
                    try startFree(db, tenantId: subscription.tenantId, from: expiry, at: now)
                    return
                }
                if subscription.status == .active, overdue.dueAt <= now, overdue.dueAt <= periodEnd {
                    subscription.status = .pastDue
                    subscription.updatedAt = now
                    try subscription.update(db)
                    try WebhookEvents.emit(db, "subscription.past_due", WebhookEvents.subscription(subscription), at: now)
                    continue
                }
            }
            guard periodEnd <= now, subscription.isPaid else { return }
            if subscription.cancelAtPeriodEnd || subscription.status == .pastDue {
                try end(db, &subscription, status: subscription.cancelAtPeriodEnd ? .canceled : .expired, at: periodEnd, now: now)
                try startFree(db, tenantId: subscription.tenantId, from: periodEnd, at: now)
                return
            }
            // A change opened during the period credited it: it cannot be paid any more.
            try Billing.voidPendingChanges(db, tenantId: subscription.tenantId, at: now)
            // A scheduled downgrade: the new plan's subscription starts where this period ends.
            if let scheduled = subscription.scheduledVariantId, let variant = try Variant.fetchOne(db, key: scheduled), let months = variant.period.months {
                try end(db, &subscription, status: .canceled, at: periodEnd, now: now, announce: false)
                subscription = try begin(
                    db, tenantId: subscription.tenantId, plan: variant.plan, period: variant.period, status: .active, start: periodEnd,
                    end: Months.add(months, to: periodEnd), variantId: variant.id, at: now)
                try openPeriod(db, &subscription, start: periodEnd, at: now, settings: settings, event: "subscription.changed")
                continue
            }
            try openPeriod(db, &subscription, start: periodEnd, at: now, settings: settings, event: "subscription.renewed")
        }
    }

    /// Opens the period from `start`: its invoice (paid at once when nothing is due) and its
    /// allowances, which are granted when the invoice is paid.
    private static func openPeriod(_ db: Database, _ subscription: inout Subscription, start periodEnd: Instant, at now: Instant, settings: Settings, event: String) throws {
        guard let months = subscription.period.months else { return }
        let nextEnd = Months.add(months, to: periodEnd)
        let price = try subscription.variantId.flatMap { try Variant.fetchOne(db, key: $0) }
        let invoice = try Billing.openInvoice(
            db, tenantId: subscription.tenantId, kind: .renewal, subscriptionId: subscription.id, variantId: price?.id, plan: subscription.plan,
            period: subscription.period, periodStart: periodEnd, periodEnd: nextEnd, lines: [Billing.planLine(price, plan: subscription.plan, period: subscription.period)],
            currency: price?.currency ?? "USD", dueAt: periodEnd.adding(days: settings.renewalGraceDays), at: now
        )
        // A free renewal needs no payment.
        let paid = invoice.totalMinor == 0
        if paid {
            try db.execute(sql: "UPDATE invoice SET status = 'paid', paid_at = ?, paid_by = 'system' WHERE id = ?", arguments: [now, invoice.id])
            var settled = invoice
            settled.status = .paid
            settled.paidAt = now
            try WebhookEvents.emit(db, "invoice.paid", WebhookEvents.invoice(settled), at: now)
        }
        subscription.endAt = nextEnd
        subscription.updatedAt = now
        try subscription.update(db)
        try Allowances.open(db, subscription: subscription, kind: .period, start: periodEnd, end: nextEnd, invoiceId: invoice.id, paid: paid, at: now)
        try WebhookEvents.emit(db, event, WebhookEvents.subscription(subscription), at: now)
    }
}
