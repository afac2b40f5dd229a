import GRDB

/// A spend limit: at most `limit` of `category` per window, for one agent or one API key.
public struct CreditLimit: Sendable, Equatable {
    public enum Scope: String, Sendable, CaseIterable {
        case agent
        case apiKey = "api_key"
    }
    /// A UTC day, a UTC calendar month, or the tenant's allowance window.
    public enum Window: String, Sendable, CaseIterable { case day, month, period }

    public var scope: Scope
    public var subject: String
    public var category: String
    public var limit: Int64
    public var window: Window

    public init(scope: Scope, subject: String, category: String, limit: Int64, window: Window) {
        self.scope = scope
        self.subject = subject
        self.category = category
        self.limit = limit
        self.window = window
    }

    var description: String {
        "\(scope == .agent ? "agent" : "API key") \(subject) for \(category) per \(window.rawValue)"
    }
}

/// What a limit has used in its current window.
public struct CreditLimitUsage: Sendable, Equatable {
    public let limit: CreditLimit
    public let used: Int64
    public let windowStart: Instant
    /// Where the window ends; nil for `period`, which ends when the next allowance begins.
    public let windowEnd: Instant?
}

/// The caps of every debit, hold and settlement, checked and counted in its transaction.
enum Caps {
    /// A cap that applies to a spend, with its current window.
    struct Applied {
        let limit: CreditLimit
        let windowStart: Instant
    }

    static func windowStart(_ window: CreditLimit.Window, periodStart: Instant, at now: Instant) -> Instant {
        switch window {
        case .day: return Instant(milliseconds: now.milliseconds - now.milliseconds % 86_400_000)
        case .month:
            let (year, month, _) = Instant.civil(fromDays: now.milliseconds / 86_400_000)
            return Instant(milliseconds: Instant.days(fromCivil: year, month, 1) * 86_400_000)
        case .period: return periodStart
        }
    }

    static func windowEnd(_ window: CreditLimit.Window, start: Instant) -> Instant? {
        switch window {
        case .day: start.adding(days: 1)
        case .month: Months.add(1, to: start)
        case .period: nil
        }
    }

    /// The caps on `spend`'s agent and API key: each must still take what open holds of the
    /// same subject reserve (but the hold being settled) plus this spend, or code 9 names it.
    static func check(_ db: Database, _ spend: Ledger.Spend, excludingHold: Int64?, periodStart: Instant, at now: Instant) throws -> [Applied] {
        guard !spend.agentId.isEmpty || spend.apiKeyId != nil else { return [] }
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT scope, subject, window_kind, amount, window_start, used FROM credit_limit
                    WHERE tenant_id = ? AND category = ? AND ((scope = 'agent' AND subject = ?) OR (scope = 'api_key' AND subject = ?))
                    """),
            arguments: [spend.tenantId, spend.category, spend.agentId, spend.apiKeyId ?? ""])
        var applied: [Applied] = []
        for row in rows {
            guard let scope = CreditLimit.Scope(rawValue: row["scope"]), let window = CreditLimit.Window(rawValue: row["window_kind"]) else { continue }
            let limit = CreditLimit(scope: scope, subject: row["subject"], category: spend.category, limit: row["amount"], window: window)
            let start = windowStart(window, periodStart: periodStart, at: now)
            let used: Int64 = row["window_start"] as Instant == start ? row["used"] : 0
            let held =
                try Int64.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT coalesce(sum(amount), 0) FROM credit_hold
                            WHERE tenant_id = ? AND category = ? AND status = 'open' AND expires_at > ? AND seq != ? AND \(scope == .agent ? "agent_id" : "api_key_id") = ?
                            """),
                    arguments: [spend.tenantId, spend.category, now, excludingHold ?? 0, limit.subject]) ?? 0
            guard [used, held, spend.amount].saturatingSum() <= limit.limit else {
                throw DomainError.failedPrecondition(
                    "over the cap on \(limit.description): limit \(limit.limit), used \(used), held \(held), requested \(spend.amount)")
            }
            applied.append(Applied(limit: limit, windowStart: start))
        }
        return applied
    }

    /// Counts a debit against the caps it was checked against; a cap whose stored window is
    /// older starts its new window with this debit.
    static func record(_ db: Database, tenantId: String, _ applied: [Applied], amount: Int64) throws {
        for cap in applied {
            try db.cachedStatement(
                sql: """
                    UPDATE credit_limit SET used = CASE WHEN window_start = ?1 THEN used + ?2 ELSE ?2 END, window_start = ?1
                    WHERE tenant_id = ?3 AND category = ?4 AND scope = ?5 AND subject = ?6 AND window_kind = ?7
                    """
            ).execute(arguments: [
                cap.windowStart, amount, tenantId, cap.limit.category, cap.limit.scope.rawValue, cap.limit.subject, cap.limit.window.rawValue,
            ])
        }
    }
}
