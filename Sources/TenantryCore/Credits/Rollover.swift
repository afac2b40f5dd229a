import GRDB

/// At a plan grant's period end, part of what it has left continues as a rollover grant.
/// A grant that rolls over ends at its period's end (what is left of it expires there, as
/// the expiry step records), so no credit is counted twice; the rollover carries the
/// credits on instead. Each plan grant is looked at once (`rollover_due_at` is cleared in
/// the same transaction, and a rollover grant is unique per grant it continues), and a
/// rollover grant never rolls over again.
enum Rollover {
    /// The step, run before expiry: every plan grant whose period ended by `now`, oldest first,
    /// at most `limit`; answers how many were looked at.
    static func rollDue(_ db: Database, at now: Instant, limit: Int) throws -> Int {
        let due = try CreditGrant.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM credit_grant WHERE rollover_due_at IS NOT NULL AND rollover_due_at <= ? ORDER BY rollover_due_at, seq LIMIT ?"),
            arguments: [now, limit])
        let plans = PlanCache()
        for var grant in due {
            guard let periodEnd = grant.rolloverDueAt else { continue }
            grant.rolloverDueAt = nil
            let planName = try grant.entitlementId.flatMap { try String.fetchOne(db.cachedStatement(sql: "SELECT plan FROM entitlement WHERE id = ?"), arguments: [$0]) }
            let plan = try planName.flatMap { try plans.effective(db, planName: $0, tenantId: grant.tenantId) }
            if let plan, let terms = plan.config.rollover, terms.percent > 0, !grant.expired, grant.remaining > 0 {
                var amount = grant.remaining * Int64(terms.percent) / 100
                if terms.maxAmount > 0 { amount = min(amount, terms.maxAmount) }
                grant.expiresAt = min(grant.expiresAt, max(periodEnd, grant.effectiveAt.adding(milliseconds: 1)))
                try grant.update(db)
                if amount > 0 {
                    let validUntil =
                        terms.validDays > 0 ? periodEnd.adding(days: Int64(terms.validDays)) : Months.add(1, to: periodEnd).adding(days: Int64(plan.creditExtensionDays))
                    var rolled = CreditGrant.new(
                        tenantId: grant.tenantId, category: grant.category, amount: amount, effectiveAt: periodEnd, expiresAt: validUntil, source: .rollover,
                        reason: "rollover of \(grant.id)", rolledFromSeq: grant.seq, now: now)
                    try Ledger.insert(&rolled, db, entry: .rollover, at: now)
                }
            } else {
                // Nothing rolls over: only the mark goes (a whole-row update rewrites every index).
                try db.cachedStatement(sql: "UPDATE credit_grant SET rollover_due_at = NULL WHERE seq = ?").execute(arguments: [grant.seq])
            }
        }
        return due.count
    }
}
