import Foundation
import GRDB

/// Credits reserved for a call whose cost is known only when it ends: placed, then settled
/// (the actual amount debited), released, or expired at its TTL. An open hold reserves its
/// amount until `expiresAt` and not an instant longer, whether or not the job has marked it.
public struct CreditHold: TenantryRecord, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case open, settled, released, expired }

    public static let databaseTableName = "credit_hold"
    public static let defaultTTLSeconds: Int64 = 300
    public static let maximumTTLSeconds: Int64 = 86_400

    public var seq: Int64?
    public var id: String
    public var tenantId: String
    public var category: String
    public var amount: Int64
    public var agentId: String
    public var datasetId: String
    public var apiKeyId: String?
    public var idempotencyKey: String
    var requestHash: Data
    public var status: Status
    public var expiresAt: Instant
    public var createdAt: Instant
    /// What was available just after it was placed.
    public var remainingAfter: Int64
    public var endedAt: Instant?
    public var settledAmount: Int64?
    public var settleKey: String?
    public var debitSeq: Int64?
    /// What was available just after it was settled or released.
    public var endRemaining: Int64?

    /// The status as of `now`: an open hold past its TTL is expired already.
    public func status(at now: Instant) -> Status { status == .open && expiresAt <= now ? .expired : status }

    enum CodingKeys: String, CodingKey {
        case seq, id, tenantId, category, amount, agentId, datasetId, apiKeyId, idempotencyKey, requestHash, status, expiresAt, createdAt, remainingAfter
        case endedAt, settledAmount, settleKey, debitSeq, endRemaining
    }
}

extension Ledger {
    struct HoldResult: Sendable {
        let hold: CreditHold
        /// What a settlement debited (0 for the other steps).
        let consumed: Int64
        let remaining: Int64
        let replayed: Bool
    }

    /// Reserves `spend.amount` for `ttlSeconds`, all or nothing, checked as a debit is (the
    /// balance net of other holds, every cap). The same key again answers the first hold.
    static func placeHold(_ db: Database, _ spend: Spend, ttlSeconds: Int64, idempotencyKey: String, at now: Instant) throws -> HoldResult {
        let requestHash = Secrets.sha256("\(spend.category)\u{1F}\(spend.amount)\u{1F}\(spend.agentId)\u{1F}\(spend.datasetId)\u{1F}\(ttlSeconds)")
        if let previous = try CreditHold.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM credit_hold WHERE tenant_id = ? AND idempotency_key = ?"), arguments: [spend.tenantId, idempotencyKey])
        {
            guard previous.requestHash == requestHash else {
                throw DomainError.alreadyExists("idempotency_key \(idempotencyKey) was already used for a different hold")
            }
            return HoldResult(hold: previous, consumed: 0, remaining: previous.remainingAfter, replayed: true)
        }
        let admission = try admit(db, spend, excludingHold: nil, at: now)
        let after = Funds(granted: admission.funds.granted, held: admission.funds.held + spend.amount, holds: admission.funds.holds + 1)
        var hold = CreditHold(
            seq: nil, id: Secrets.identifier("hld"), tenantId: spend.tenantId, category: spend.category, amount: spend.amount, agentId: spend.agentId,
            datasetId: spend.datasetId, apiKeyId: spend.apiKeyId, idempotencyKey: idempotencyKey, requestHash: requestHash, status: .open,
            expiresAt: now.adding(seconds: ttlSeconds), createdAt: now, remainingAfter: after.available, endedAt: nil, settledAmount: nil, settleKey: nil,
            debitSeq: nil, endRemaining: nil)
        try hold.insert(db)
        hold.seq = db.lastInsertedRowID
        try Journal.record(
            db, tenantId: spend.tenantId, category: spend.category, kind: .hold, amount: spend.amount, funds: after, holdSeq: hold.seq, agentId: spend.agentId,
            datasetId: spend.datasetId, at: now)
        try Alerts.evaluate(db, tenantId: spend.tenantId, category: spend.category, available: after.available, periodStart: admission.periodStart, at: now)
        return HoldResult(hold: hold, consumed: 0, remaining: after.available, replayed: false)
    }

    /// Debits the actual `amount` of a hold and frees the rest. More than was held, or a hold
    /// past its TTL, needs the balance (net of the other holds) to cover it; refused, the
    /// hold stays as it was.
    static func settleHold(_ db: Database, tenantId: String, holdId: String, amount: Int64, idempotencyKey: String, at now: Instant) throws -> HoldResult {
        var hold = try Self.hold(db, tenantId: tenantId, id: holdId)
        switch hold.status {
        case .settled:
            guard hold.settleKey == idempotencyKey else { throw DomainError.failedPrecondition("hold \(holdId) is already settled") }
            guard hold.settledAmount == amount else {
                throw DomainError.alreadyExists("idempotency_key \(idempotencyKey) already settled hold \(holdId) for \(hold.settledAmount ?? 0)")
            }
            return HoldResult(hold: hold, consumed: amount, remaining: hold.endRemaining ?? 0, replayed: true)
        case .released:
            throw DomainError.failedPrecondition("hold \(holdId) was released")
        case .open, .expired:
            break
        }
        let spend = Spend(tenantId: tenantId, category: hold.category, amount: amount, agentId: hold.agentId, datasetId: hold.datasetId, apiKeyId: hold.apiKeyId)
        let remaining: Int64
        var debitSeq: Int64?
        if amount > 0 {
            let admission: Admission
            do {
                admission = try admit(db, spend, excludingHold: hold.seq, at: now)
            } catch DomainError.failedPrecondition(let message) where hold.status(at: now) == .expired {
                throw DomainError.failedPrecondition("hold \(holdId) expired at \(hold.expiresAt.rfc3339) and the balance no longer covers it: \(message)")
            }
            let drawn = try draw(
                db, spend, admission, idempotencyKey: "settle:\(hold.id)", requestHash: Secrets.sha256("settle\u{1F}\(hold.id)\u{1F}\(amount)"), entry: .settle,
                holdSeq: hold.seq, at: now)
            remaining = drawn.remaining
            debitSeq = drawn.debitSeq
        } else {
            let after = try funds(db, tenantId: tenantId, category: hold.category, excludingHold: hold.seq, at: now)
            remaining = after.available
            try Journal.record(db, tenantId: tenantId, category: hold.category, kind: .settle, amount: 0, funds: after, holdSeq: hold.seq, agentId: hold.agentId, datasetId: hold.datasetId, at: now)
        }
        hold.status = .settled
        hold.endedAt = now
        hold.settledAmount = amount
        hold.settleKey = idempotencyKey
        hold.debitSeq = debitSeq
        hold.endRemaining = remaining
        try hold.update(db)
        return HoldResult(hold: hold, consumed: amount, remaining: remaining, replayed: false)
    }

    /// Frees a hold. A hold released already, or past its TTL, is answered as it is.
    static func releaseHold(_ db: Database, tenantId: String, holdId: String, at now: Instant) throws -> HoldResult {
        var hold = try Self.hold(db, tenantId: tenantId, id: holdId)
        switch hold.status(at: now) {
        case .settled:
            throw DomainError.failedPrecondition("hold \(holdId) is already settled")
        case .released:
            return HoldResult(hold: hold, consumed: 0, remaining: hold.endRemaining ?? 0, replayed: true)
        case .expired:
            return HoldResult(hold: hold, consumed: 0, remaining: try balance(db, tenantId: tenantId, category: hold.category, at: now), replayed: false)
        case .open:
            break
        }
        let after = try funds(db, tenantId: tenantId, category: hold.category, excludingHold: hold.seq, at: now)
        hold.status = .released
        hold.endedAt = now
        hold.endRemaining = after.available
        try hold.update(db)
        try Journal.record(
            db, tenantId: tenantId, category: hold.category, kind: .release, amount: hold.amount, funds: after, holdSeq: hold.seq, agentId: hold.agentId, datasetId: hold.datasetId, at: now)
        return HoldResult(hold: hold, consumed: 0, remaining: after.available, replayed: false)
    }

    /// The job: marks holds past their TTL expired (they stopped reserving at that instant),
    /// each with its ledger entry and a `credits.hold_expired` event; at most `limit` a run.
    static func expireHolds(_ db: Database, at now: Instant, limit: Int) throws -> Int {
        let due = try CreditHold.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM credit_hold WHERE status = 'open' AND expires_at <= ? ORDER BY expires_at LIMIT ?"), arguments: [now, limit])
        for var hold in due {
            hold.status = .expired
            hold.endedAt = hold.expiresAt
            try hold.update(db)
            try Journal.record(
                db, tenantId: hold.tenantId, category: hold.category, kind: .holdExpiry, amount: hold.amount,
                funds: try funds(db, tenantId: hold.tenantId, category: hold.category, at: now), holdSeq: hold.seq, agentId: hold.agentId, datasetId: hold.datasetId, at: now)
            try WebhookEvents.emit(
                db, "credits.hold_expired",
                [
                    ("tenant_id", hold.tenantId), ("hold_id", hold.id), ("category", hold.category), ("amount", String(hold.amount)), ("agent_id", hold.agentId),
                    ("expired_at", hold.expiresAt.rfc3339),
                ], at: now)
        }
        return due.count
    }

    static func hold(_ db: Database, tenantId: String, id: String) throws -> CreditHold {
        guard let hold = try CreditHold.fetchOne(db.cachedStatement(sql: "SELECT * FROM credit_hold WHERE id = ? AND tenant_id = ?"), arguments: [id, tenantId]) else {
            throw DomainError.notFound("no hold \(id) in tenant \(tenantId)")
        }
        return hold
    }

    /// A tenant's holds, newest first; `status` as of `now` (an open hold past its TTL is expired).
    static func holds(_ db: Database, tenantId: String, status: CreditHold.Status?, paging: Paging, at now: Instant) throws -> (holds: [CreditHold], total: Int) {
        var condition = "tenant_id = ?"
        var arguments: StatementArguments = [tenantId]
        switch status {
        case .open?:
            condition += " AND status = 'open' AND expires_at > ?"
            arguments += [now]
        case .expired?:
            condition += " AND (status = 'expired' OR (status = 'open' AND expires_at <= ?))"
            arguments += [now]
        case let other?:
            condition += " AND status = ?"
            arguments += [other.rawValue]
        case nil:
            break
        }
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM credit_hold WHERE \(condition)", arguments: arguments) ?? 0
        let holds = try CreditHold.fetchAll(
            db, sql: "SELECT * FROM credit_hold WHERE \(condition) ORDER BY seq DESC LIMIT ? OFFSET ?", arguments: arguments + [paging.limit, paging.offset])
        return (holds, total)
    }
}
