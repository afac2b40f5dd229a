import Foundation
import GRDB

/// The credit ledger: every change of a balance is a row (grants, debits and the parts
/// they drew, expiries), and a balance is derived from the rows.
enum Ledger {
    struct Debit: Sendable, Equatable {
        let consumed: Int64
        let remaining: Int64
        /// True when the idempotency key had been seen: nothing was debited again.
        let replayed: Bool
    }

    /// Debits `amount` of `category`, all or nothing, from live grants in burn-down order:
    /// priority, then the soonest expiry, then age. The same idempotency key again answers
    /// the first debit; with other content it is refused. Runs inside the writer, whose
    /// serial commits are why a balance can never go below zero.
    static func debit(
        _ db: Database, tenantId: String, category: String, amount: Int64, agentId: String, datasetId: String,
        idempotencyKey: String, apiKeyId: String?, at now: Instant
    ) throws -> Debit {
        let requestHash = Secrets.sha256("\(category)\u{1F}\(amount)\u{1F}\(agentId)\u{1F}\(datasetId)")
        if let previous = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT amount, remaining_after, request_hash FROM credit_debit WHERE tenant_id = ? AND idempotency_key = ?"),
            arguments: [tenantId, idempotencyKey]
        ) {
            guard previous["request_hash"] as Data == requestHash else {
                throw DomainError.alreadyExists("idempotency_key \(idempotencyKey) was already used for a different consumption")
            }
            return Debit(consumed: previous["amount"], remaining: previous["remaining_after"], replayed: true)
        }
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT seq, amount - used AS left FROM credit_grant
                    WHERE tenant_id = ? AND category = ? AND expired = 0 AND effective_at <= ? AND expires_at > ? AND used < amount
                    ORDER BY priority, expires_at, seq
                    """),
            arguments: [tenantId, category, now, now]
        )
        let available = rows.map { $0["left"] as Int64 }.saturatingSum()
        guard available >= amount else {
            throw DomainError.failedPrecondition("insufficient credits: \(available) \(category) available, \(amount) requested")
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO credit_debit (id, tenant_id, category, amount, agent_id, dataset_id, idempotency_key, request_hash, remaining_after, api_key_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            Secrets.identifier("dbt"), tenantId, category, amount, agentId, datasetId, idempotencyKey, requestHash,
            available - amount, apiKeyId, now,
        ])
        let debitSeq = db.lastInsertedRowID
        let window = try windowStart(db, tenantId: tenantId, at: now)
        for (dimension, subject) in [("agent", agentId), ("dataset", datasetId)] where !subject.isEmpty {
            try db.cachedStatement(
                sql: """
                    INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET amount = amount + excluded.amount
                    """
            ).execute(arguments: [tenantId, window, dimension, subject, category, amount])
        }
        var owed = amount
        for row in rows where owed > 0 {
            let take = min(owed, row["left"] as Int64)
            let grantSeq: Int64 = row["seq"]
            try db.cachedStatement(sql: "UPDATE credit_grant SET used = used + ? WHERE seq = ?").execute(arguments: [take, grantSeq])
            try db.cachedStatement(sql: "INSERT INTO credit_debit_part (debit_seq, grant_seq, amount) VALUES (?, ?, ?)").execute(arguments: [debitSeq, grantSeq, take])
            owed -= take
        }
        return Debit(consumed: amount, remaining: available - amount, replayed: false)
    }

    /// Where the tenant's current allowance window starts: the newest plan or trial grant
    /// that has begun (0 before any). Usage per agent and dataset is totalled per window.
    static func windowStart(_ db: Database, tenantId: String, at now: Instant) throws -> Instant {
        try Instant.fetchOne(
            db.cachedStatement(sql: "SELECT max(effective_at) FROM credit_grant WHERE tenant_id = ? AND source IN ('plan', 'trial') AND effective_at <= ?"),
            arguments: [tenantId, now]
        ) ?? Instant(milliseconds: 0)
    }

    /// A plan or trial grant that began in the past (a renewal paid late, a timer that ran a
    /// minute after the month began) opens its window retroactively: the debits made since
    /// its start were totalled in the window before, and move to it now, in the grant's
    /// transaction. Nothing moves when a newer window is already open, or when another grant
    /// with the same start (another category) already moved them.
    static func openWindow(_ db: Database, tenantId: String, start: Instant, grantSeq: Int64, at now: Instant) throws {
        guard start < now, try windowStart(db, tenantId: tenantId, at: now) == start else { return }
        let sameStart =
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM credit_grant WHERE tenant_id = ? AND source IN ('plan', 'trial') AND effective_at = ? AND seq != ?",
                arguments: [tenantId, start, grantSeq]) ?? 0
        guard sameStart == 0 else { return }
        let previous =
            try Instant.fetchOne(
                db, sql: "SELECT max(effective_at) FROM credit_grant WHERE tenant_id = ? AND source IN ('plan', 'trial') AND effective_at < ?", arguments: [tenantId, start])
            ?? Instant(milliseconds: 0)
        for (dimension, column) in [("agent", "agent_id"), ("dataset", "dataset_id")] {
            let moved = try Row.fetchAll(
                db, sql: "SELECT \(column) AS subject, category, sum(amount) AS amount FROM credit_debit WHERE tenant_id = ? AND created_at >= ? AND \(column) != '' GROUP BY 1, 2",
                arguments: [tenantId, start])
            for row in moved {
                let subject: String = row["subject"]
                let category: String = row["category"]
                let amount: Int64 = row["amount"]
                let key: StatementArguments = [tenantId, previous, dimension, subject, category]
                try db.execute(
                    sql: "DELETE FROM usage_total WHERE tenant_id = ? AND window_start = ? AND dimension = ? AND subject = ? AND category = ? AND amount <= ?",
                    arguments: key + [amount])
                try db.execute(
                    sql: "UPDATE usage_total SET amount = amount - ? WHERE tenant_id = ? AND window_start = ? AND dimension = ? AND subject = ? AND category = ?",
                    arguments: [amount] + key)
                try db.execute(
                    sql: """
                        INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET amount = amount + excluded.amount
                        """, arguments: [tenantId, start, dimension, subject, category, amount])
            }
        }
    }

    /// What each subject (agent or dataset) used in the tenant's current window, by category.
    static func windowUsage(_ db: Database, tenantId: String, dimension: String, subjects: [String]? = nil, at now: Instant) throws -> [(subject: String, category: String, used: Int64)] {
        let window = try windowStart(db, tenantId: tenantId, at: now)
        var sql = "SELECT subject, category, amount FROM usage_total WHERE tenant_id = ? AND window_start = ? AND dimension = ?"
        var arguments: StatementArguments = [tenantId, window, dimension]
        if let subjects {
            sql += " AND subject IN (\(databaseQuestionMarks(count: subjects.count)))"
            arguments += StatementArguments(subjects)
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY subject, category", arguments: arguments).map { ($0["subject"], $0["category"], $0["amount"]) }
    }

    /// Live grants of a tenant (optionally of one category), in burn-down order.
    static func liveGrants(_ db: Database, tenantId: String, category: String? = nil, at now: Instant) throws -> [CreditGrant] {
        var request = CreditGrant.filter(
            CreditGrant.Columns.tenantId == tenantId && CreditGrant.Columns.expired == false && CreditGrant.Columns.effectiveAt <= now && CreditGrant.Columns.expiresAt > now)
        if let category { request = request.filter(CreditGrant.Columns.category == category) }
        return try request.order(CreditGrant.Columns.category, CreditGrant.Columns.priority, CreditGrant.Columns.expiresAt, CreditGrant.Columns.seq).fetchAll(db)
    }

    /// What each category of a tenant holds now, by category.
    static func balances(_ db: Database, tenantId: String, at now: Instant) throws -> [(category: String, remaining: Int64)] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT category, sum(amount - used) AS remaining FROM credit_grant
                WHERE tenant_id = ? AND expired = 0 AND effective_at <= ? AND expires_at > ? GROUP BY category ORDER BY category
                """, arguments: [tenantId, now, now]
        ).map { ($0["category"], $0["remaining"]) }
    }

    static func balance(_ db: Database, tenantId: String, category: String, at now: Instant) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT coalesce(sum(amount - used), 0) FROM credit_grant
                    WHERE tenant_id = ? AND category = ? AND expired = 0 AND effective_at <= ? AND expires_at > ?
                    """),
            arguments: [tenantId, category, now, now]
        ) ?? 0
    }

    /// Records what was left of every grant that has expired by `now`; answers how many.
    static func expireGrants(_ db: Database, at now: Instant) throws -> Int {
        if try WebhookEvents.anyEndpoint(db, for: "credits.expired") {
            for row in try Row.fetchAll(db, sql: "SELECT id, tenant_id, category, amount - used AS left, expires_at FROM credit_grant WHERE expired = 0 AND expires_at <= ?", arguments: [now]) {
                try WebhookEvents.emit(
                    db, "credits.expired",
                    [
                        ("tenant_id", row["tenant_id"]), ("grant_id", row["id"]), ("category", row["category"]), ("amount", String(row["left"] as Int64)),
                        ("expired_at", (row["expires_at"] as Instant).rfc3339),
                    ],
                    at: now)
            }
        }
        try db.execute(
            sql: """
                INSERT INTO credit_expiry (grant_seq, tenant_id, category, amount, expired_at)
                SELECT seq, tenant_id, category, amount - used, expires_at FROM credit_grant WHERE expired = 0 AND expires_at <= ?
                """, arguments: [now])
        let count = db.changesCount
        try db.execute(sql: "UPDATE credit_grant SET expired = 1 WHERE expired = 0 AND expires_at <= ?", arguments: [now])
        return count
    }

    /// Where the ledger does not add up: a grant whose `used` differs from the debits drawn
    /// on it, a debit whose parts do not sum to it, or a category whose grants minus debits
    /// minus expiries differ from its balance. Empty when every balance equals its ledger.
    static func inconsistencies(_ db: Database) throws -> [String] {
        var problems: [String] = []
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT g.id, g.used, coalesce((SELECT sum(p.amount) FROM credit_debit_part p WHERE p.grant_seq = g.seq), 0) AS drawn
                FROM credit_grant g WHERE g.used != coalesce((SELECT sum(p.amount) FROM credit_debit_part p WHERE p.grant_seq = g.seq), 0)
                """)
        {
            problems.append("grant \(row["id"] as String) has used \(row["used"] as Int64) but debits drew \(row["drawn"] as Int64)")
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT d.id, d.amount, coalesce((SELECT sum(p.amount) FROM credit_debit_part p WHERE p.debit_seq = d.seq), 0) AS parts
                FROM credit_debit d WHERE d.amount != coalesce((SELECT sum(p.amount) FROM credit_debit_part p WHERE p.debit_seq = d.seq), 0)
                """)
        {
            problems.append("debit \(row["id"] as String) of \(row["amount"] as Int64) drew \(row["parts"] as Int64) from grants")
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT g.id, g.amount - g.used AS left, e.amount AS recorded FROM credit_grant g JOIN credit_expiry e ON e.grant_seq = g.seq
                WHERE g.amount - g.used != e.amount OR g.expired = 0
                """)
        {
            problems.append("grant \(row["id"] as String) expired with \(row["recorded"] as Int64) left but holds \(row["left"] as Int64)")
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                WITH granted AS (SELECT tenant_id, category, sum(amount) AS total FROM credit_grant GROUP BY 1, 2),
                     debited AS (SELECT tenant_id, category, sum(amount) AS total FROM credit_debit GROUP BY 1, 2),
                     lapsed AS (SELECT tenant_id, category, sum(amount) AS total FROM credit_expiry GROUP BY 1, 2),
                     unexpired AS (SELECT tenant_id, category, sum(amount - used) AS total FROM credit_grant WHERE expired = 0 GROUP BY 1, 2)
                SELECT granted.tenant_id, granted.category, granted.total AS granted, coalesce(debited.total, 0) AS debited,
                       coalesce(lapsed.total, 0) AS lapsed, coalesce(unexpired.total, 0) AS balance
                FROM granted
                LEFT JOIN debited USING (tenant_id, category) LEFT JOIN lapsed USING (tenant_id, category) LEFT JOIN unexpired USING (tenant_id, category)
                WHERE granted.total - coalesce(debited.total, 0) - coalesce(lapsed.total, 0) != coalesce(unexpired.total, 0)
                """)
        {
            problems.append(
                "tenant \(row["tenant_id"] as String) \(row["category"] as String): granted \(row["granted"] as Int64) − debited \(row["debited"] as Int64) − expired \(row["lapsed"] as Int64) ≠ balance \(row["balance"] as Int64)"
            )
        }
        for dimension in ["agent", "dataset"] {
            let column = dimension == "agent" ? "agent_id" : "dataset_id"
            for row in try Row.fetchAll(
                db,
                sql: """
                    WITH debited AS (SELECT tenant_id, \(column) AS subject, category, sum(amount) AS total FROM credit_debit WHERE \(column) != '' GROUP BY 1, 2, 3),
                         totalled AS (SELECT tenant_id, subject, category, sum(amount) AS total FROM usage_total WHERE dimension = '\(dimension)' GROUP BY 1, 2, 3)
                    SELECT tenant_id, subject, category, coalesce(d.total, 0) AS debited, coalesce(t.total, 0) AS totalled
                    FROM debited d FULL JOIN totalled t USING (tenant_id, subject, category) WHERE coalesce(d.total, 0) != coalesce(t.total, 0)
                    """)
            {
                problems.append(
                    "tenant \(row["tenant_id"] as String) \(dimension) \(row["subject"] as String) \(row["category"] as String): debits add up to \(row["debited"] as Int64) but the usage totals say \(row["totalled"] as Int64)"
                )
            }
        }
        let negative = try Int.fetchOne(db, sql: "SELECT count(*) FROM credit_grant WHERE used > amount OR used < 0") ?? 0
        if negative > 0 { problems.append("\(negative) grants are overdrawn") }
        return problems
    }
}
