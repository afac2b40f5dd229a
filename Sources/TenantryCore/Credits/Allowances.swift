import GRDB

/// Turns entitlements into grants: the whole trial's allowance at its start, and each month
/// of a paid period or of FREE at the month's start. A grant lasts to the end of the stretch
/// it belongs to plus the plan's `credit_extension` days, and exists at most once per
/// (entitlement, month, category), so granting again changes nothing.
enum Allowances {
    /// Makes every grant of `entitlement` due by `now`; answers how many grants were made.
    @discardableResult
    static func grantDue(_ db: Database, _ entitlement: inout Entitlement, at now: Instant, plans: PlanCache = PlanCache()) throws -> Int {
        guard entitlement.paid else { return 0 }
        var made = 0
        while let monthStart = entitlement.nextGrantAt, monthStart <= now {
            let plan = try plans.effective(db, planName: entitlement.plan, tenantId: entitlement.tenantId)
            let monthEnd: Instant?
            let next: Instant?
            switch entitlement.kind {
            case .trial:
                monthEnd = entitlement.endAt
                next = nil
            case .period, .free:
                let following = Months.add(months(between: entitlement.startAt, and: monthStart) + 1, to: entitlement.startAt)
                if let end = entitlement.endAt, following >= end {
                    monthEnd = end
                    next = nil
                } else {
                    monthEnd = following
                    next = following
                }
            }
            if let plan, let monthEnd {
                let expiresAt = monthEnd.adding(days: Int64(plan.creditExtensionDays))
                for allowance in plan.config.usageConfigs where allowance.totalAmount > 0 && expiresAt > monthStart {
                    let trial = entitlement.kind == .trial
                    var grant = CreditGrant.new(
                        tenantId: entitlement.tenantId, category: allowance.category, amount: allowance.totalAmount,
                        effectiveAt: monthStart, expiresAt: expiresAt, source: trial ? .trial : .plan,
                        entitlementId: entitlement.id, monthStart: monthStart, rolloverDueAt: trial ? nil : monthEnd, now: now
                    )
                    try db.cachedStatement(
                        sql: """
                            INSERT OR IGNORE INTO credit_grant (id, tenant_id, category, amount, used, effective_at, expires_at, source, priority,
                                entitlement_id, month_start, reason, created_at, expired, rollover_due_at)
                            VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, '', ?, 0, ?)
                            """
                    ).execute(arguments: [
                        grant.id, grant.tenantId, grant.category, grant.amount, grant.effectiveAt, grant.expiresAt,
                        grant.source.rawValue, grant.priority, grant.entitlementId, grant.monthStart, now, grant.rolloverDueAt,
                    ])
                    if db.changesCount > 0 {
                        made += 1
                        grant.seq = db.lastInsertedRowID
                        try Ledger.openWindow(db, tenantId: entitlement.tenantId, start: monthStart, grantSeq: db.lastInsertedRowID, at: now)
                        try Ledger.recorded(grant, db, at: now)
                    }
                }
            }
            entitlement.nextGrantAt = next
        }
        try db.cachedStatement(sql: "UPDATE entitlement SET next_grant_at = ? WHERE id = ?").execute(arguments: [entitlement.nextGrantAt, entitlement.id])
        return made
    }

    /// Whole months from `anchor` to `instant` (the index of the month `instant` starts).
    static func months(between anchor: Instant, and instant: Instant) -> Int {
        var count = 0
        while Months.add(count + 1, to: anchor) <= instant { count += 1 }
        return count
    }

    /// Starts an entitlement and grants what is due already.
    @discardableResult
    static func open(
        _ db: Database, subscription: Subscription, kind: Entitlement.Kind, start: Instant, end: Instant?, invoiceId: String?, paid: Bool, at now: Instant,
        plans: PlanCache = PlanCache()
    ) throws -> Entitlement {
        var entitlement = Entitlement(
            id: Secrets.identifier("ent"), subscriptionId: subscription.id, tenantId: subscription.tenantId, plan: subscription.plan,
            kind: kind, startAt: start, endAt: end, invoiceId: invoiceId, paid: paid, nextGrantAt: start
        )
        try entitlement.insert(db)
        try grantDue(db, &entitlement, at: now, plans: plans)
        return entitlement
    }

    /// The job: every entitlement with a grant due, oldest first, at most `limit` of them.
    static func grantAllDue(_ db: Database, at now: Instant, limit: Int) throws -> (entitlements: Int, grants: Int) {
        let due = try Entitlement.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM entitlement WHERE paid = 1 AND next_grant_at IS NOT NULL AND next_grant_at <= ? ORDER BY next_grant_at LIMIT ?"),
            arguments: [now, limit]
        )
        var grants = 0
        let plans = PlanCache()
        for var entitlement in due { grants += try grantDue(db, &entitlement, at: now, plans: plans) }
        return (due.count, grants)
    }
}
