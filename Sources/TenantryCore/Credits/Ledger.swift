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

    /// Who spends what: a debit, a hold, or a hold's settlement.
    struct Spend: Sendable {
        let tenantId: String
        let category: String
        let amount: Int64
        let agentId: String
        let datasetId: String
        let apiKeyId: String?
    }

    /// A category's money now: what live grants have left, and what open holds reserve of it.
    struct Funds: Sendable {
        let granted: Int64
        let held: Int64
        let holds: Int
        var available: Int64 { max(0, granted - held) }
    }

    /// A spend that fits: the live grants to draw from in burn-down order, the funds before
    /// it, the caps to count it against, and the allowance window it falls in.
    struct Admission {
        let grants: [(seq: Int64, left: Int64)]
        let funds: Funds
        let caps: [Caps.Applied]
        let periodStart: Instant
    }

    /// Debits `amount` of `category`, all or nothing, from live grants in burn-down order:
    /// priority, then the soonest expiry, then age. The same idempotency key again answers
    /// the first debit; with other content it is refused. Runs inside the writer, whose
    /// serial commits are why a balance can never go below zero.
    static func debit(_ db: Database, _ spend: Spend, idempotencyKey: String, at now: Instant) throws -> Debit {
        let requestHash = Secrets.sha256("\(spend.category)\u{1F}\(spend.amount)\u{1F}\(spend.agentId)\u{1F}\(spend.datasetId)")
        if let previous = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT amount, remaining_after, request_hash FROM credit_debit WHERE tenant_id = ? AND idempotency_key = ?"),
            arguments: [spend.tenantId, idempotencyKey]
        ) {
            guard previous["request_hash"] as Data == requestHash else {
                throw DomainError.alreadyExists("idempotency_key \(idempotencyKey) was already used for a different consumption")
            }
            return Debit(consumed: previous["amount"], remaining: previous["remaining_after"], replayed: true)
        }
        let admission = try admit(db, spend, excludingHold: nil, at: now)
        let drawn = try draw(db, spend, admission, idempotencyKey: idempotencyKey, requestHash: requestHash, entry: .debit, holdSeq: nil, at: now)
        return Debit(consumed: spend.amount, remaining: drawn.remaining, replayed: false)
    }

    /// Checks that `spend` fits what live grants have left beside the open holds (but the one
    /// being settled) and every cap that applies; refuses with code 9 saying which did not.
    static func admit(_ db: Database, _ spend: Spend, excludingHold: Int64?, at now: Instant) throws -> Admission {
        let grants = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT seq, amount - used AS left FROM credit_grant
                    WHERE tenant_id = ? AND category = ? AND expired = 0 AND effective_at <= ? AND expires_at > ? AND used < amount
                    ORDER BY priority, expires_at, seq
                    """),
            arguments: [spend.tenantId, spend.category, now, now]
        ).map { (seq: $0["seq"] as Int64, left: $0["left"] as Int64) }
        let funds = try Self.funds(db, tenantId: spend.tenantId, category: spend.category, granted: grants.map(\.left).saturatingSum(), excludingHold: excludingHold, at: now)
        guard funds.granted - funds.held >= spend.amount else {
            var message = "insufficient credits: \(funds.available) \(spend.category) available, \(spend.amount) requested"
            if funds.holds > 0 {
                message += " (\(funds.held) of the \(funds.granted) left in live grants is reserved by \(funds.holds) open hold\(funds.holds == 1 ? "" : "s"))"
            }
            throw DomainError.failedPrecondition(message)
        }
        let periodStart = try windowStart(db, tenantId: spend.tenantId, at: now)
        let caps = try Caps.check(db, spend, excludingHold: excludingHold, periodStart: periodStart, at: now)
        return Admission(grants: grants, funds: funds, caps: caps, periodStart: periodStart)
    }

    /// Writes an admitted spend as a debit: its parts, the usage totals, the caps' counts,
    /// its ledger entry and any alert it sets off. Answers the debit's row and what is left.
    static func draw(
        _ db: Database, _ spend: Spend, _ admission: Admission, idempotencyKey: String, requestHash: Data, entry: Journal.Kind, holdSeq: Int64?, at now: Instant
    ) throws -> (debitSeq: Int64, remaining: Int64) {
        let remaining = admission.funds.granted - admission.funds.held - spend.amount
        try db.cachedStatement(
            sql: """
                INSERT INTO credit_debit (id, tenant_id, category, amount, agent_id, dataset_id, idempotency_key, request_hash, remaining_after, api_key_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            Secrets.identifier("dbt"), spend.tenantId, spend.category, spend.amount, spend.agentId, spend.datasetId, idempotencyKey, requestHash,
            remaining, spend.apiKeyId, now,
        ])
        let debitSeq = db.lastInsertedRowID
        for (dimension, subject) in [("agent", spend.agentId), ("dataset", spend.datasetId)] where !subject.isEmpty {
            try db.cachedStatement(
                sql: """
                    INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET amount = amount + excluded.amount
                    """
            ).execute(arguments: [spend.tenantId, admission.periodStart, dimension, subject, spend.category, spend.amount])
        }
        var owed = spend.amount
        for grant in admission.grants where owed > 0 {
            let take = min(owed, grant.left)
            try db.cachedStatement(sql: "UPDATE credit_grant SET used = used + ? WHERE seq = ?").execute(arguments: [take, grant.seq])
            try db.cachedStatement(sql: "INSERT INTO credit_debit_part (debit_seq, grant_seq, amount) VALUES (?, ?, ?)").execute(arguments: [debitSeq, grant.seq, take])
            owed -= take
        }
        try Caps.record(db, tenantId: spend.tenantId, admission.caps, amount: spend.amount)
        let after = Funds(granted: admission.funds.granted - spend.amount, held: admission.funds.held, holds: admission.funds.holds)
        try Journal.record(
            db, tenantId: spend.tenantId, category: spend.category, kind: entry, amount: spend.amount, funds: after, debitSeq: debitSeq, holdSeq: holdSeq,
            agentId: spend.agentId, datasetId: spend.datasetId, at: now)
        try Alerts.evaluate(db, tenantId: spend.tenantId, category: spend.category, available: after.available, periodStart: admission.periodStart, at: now)
        return (debitSeq, remaining)
    }

    /// The funds of a category: `granted` when the caller has summed the live grants already.
    /// What open holds reserve is their running total (`credit_hold_total`, kept by triggers)
    /// less those past their TTL that the timer has not marked yet, so its cost does not grow
    /// with the number of open holds.
    static func funds(_ db: Database, tenantId: String, category: String, granted: Int64? = nil, excludingHold: Int64? = nil, at now: Instant) throws -> Funds {
        let granted = try granted ?? grantedLeft(db, tenantId: tenantId, category: category, at: now)
        let total = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT amount, holds FROM credit_hold_total WHERE tenant_id = ? AND category = ?"), arguments: [tenantId, category])
        guard let total, total["holds"] as Int64 > 0 else { return Funds(granted: granted, held: 0, holds: 0) }
        let lapsed = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT coalesce(sum(amount), 0) AS amount, count(*) AS holds FROM credit_hold WHERE tenant_id = ? AND category = ? AND status = 'open' AND expires_at <= ?"),
            arguments: [tenantId, category, now])
        var held: Int64 = total["amount"] - (lapsed?["amount"] ?? 0)
        var holds: Int64 = total["holds"] - (lapsed?["holds"] ?? 0)
        if let excludingHold,
            let excluded = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT amount FROM credit_hold WHERE seq = ? AND status = 'open' AND expires_at > ?"), arguments: [excludingHold, now])
        {
            held -= excluded
            holds -= 1
        }
        return Funds(granted: granted, held: held, holds: Int(holds))
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
        // Prepared once per connection: the allowance timer runs this for every tenant.
        let sameStart =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM credit_grant WHERE tenant_id = ? AND source IN ('plan', 'trial') AND effective_at = ? AND seq != ?"),
                arguments: [tenantId, start, grantSeq]) ?? 0
        guard sameStart == 0 else { return }
        let previous =
            try Instant.fetchOne(
                db.cachedStatement(sql: "SELECT max(effective_at) FROM credit_grant WHERE tenant_id = ? AND source IN ('plan', 'trial') AND effective_at < ?"),
                arguments: [tenantId, start])
            ?? Instant(milliseconds: 0)
        for (dimension, column) in [("agent", "agent_id"), ("dataset", "dataset_id")] {
            let moved = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(column) AS subject, category, sum(amount) AS amount FROM credit_debit WHERE tenant_id = ? AND created_at >= ? AND \(column) != '' GROUP BY 1, 2"),
                arguments: [tenantId, start])
            for row in moved {
                let subject: String = row["subject"]
                let category: String = row["category"]
                let amount: Int64 = row["amount"]
                let key: StatementArguments = [tenantId, previous, dimension, subject, category]
                try db.cachedStatement(
                    sql: "DELETE FROM usage_total WHERE tenant_id = ? AND window_start = ? AND dimension = ? AND subject = ? AND category = ? AND amount <= ?"
                ).execute(arguments: key + [amount])
                try db.cachedStatement(
                    sql: "UPDATE usage_total SET amount = amount - ? WHERE tenant_id = ? AND window_start = ? AND dimension = ? AND subject = ? AND category = ?"
                ).execute(arguments: [amount] + key)
                try db.cachedStatement(
                    sql: """
                        INSERT INTO usage_total (tenant_id, window_start, dimension, subject, category, amount) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET amount = amount + excluded.amount
                        """
                ).execute(arguments: [tenantId, start, dimension, subject, category, amount])
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

    /// What each category of a tenant has available now (live grants minus open holds).
    static func balances(_ db: Database, tenantId: String, at now: Instant) throws -> [(category: String, remaining: Int64)] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT category, sum(amount - used) AS granted FROM credit_grant
                WHERE tenant_id = ? AND expired = 0 AND effective_at <= ? AND expires_at > ? GROUP BY category ORDER BY category
                """, arguments: [tenantId, now, now]
        ).map { row in
            let category: String = row["category"]
            return (category, try funds(db, tenantId: tenantId, category: category, granted: row["granted"], at: now).available)
        }
    }

    /// What a category has available now: live grants minus open holds.
    static func balance(_ db: Database, tenantId: String, category: String, at now: Instant) throws -> Int64 {
        try funds(db, tenantId: tenantId, category: category, at: now).available
    }

    /// What the live grants of a category have left, holds aside.
    static func grantedLeft(_ db: Database, tenantId: String, category: String, at now: Instant) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT coalesce(sum(amount - used), 0) FROM credit_grant
                    WHERE tenant_id = ? AND category = ? AND expired = 0 AND effective_at <= ? AND expires_at > ?
                    """),
            arguments: [tenantId, category, now, now]
        ) ?? 0
    }

    /// Inserts a grant with its ledger entry and its `credits.granted` event.
    static func insert(_ grant: inout CreditGrant, _ db: Database, entry: Journal.Kind = .grant, at now: Instant) throws {
        try grant.insert(db)
        grant.seq = db.lastInsertedRowID
        try recorded(grant, db, entry: entry, at: now)
    }

    /// The ledger entry and event of a grant just inserted.
    static func recorded(_ grant: CreditGrant, _ db: Database, entry: Journal.Kind = .grant, at now: Instant) throws {
        try Journal.record(
            db, tenantId: grant.tenantId, category: grant.category, kind: entry, amount: grant.amount, funds: try funds(db, tenantId: grant.tenantId, category: grant.category, at: now),
            grantSeq: grant.seq, at: now)
        try WebhookEvents.emit(db, "credits.granted", WebhookEvents.grant(grant), at: now)
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
        // The balance after an expiry is what the grants still live have left, less the holds.
        try db.execute(
            sql: """
                WITH expiring AS (SELECT seq, tenant_id, category, amount - used AS left FROM credit_grant WHERE expired = 0 AND expires_at <= ?1),
                     funds AS (
                        SELECT e.seq,
                            (SELECT coalesce(sum(g.amount - g.used), 0) FROM credit_grant g
                             WHERE g.tenant_id = e.tenant_id AND g.category = e.category AND g.expired = 0 AND g.effective_at <= ?1 AND g.expires_at > ?1) AS granted,
                            (SELECT coalesce(sum(h.amount), 0) FROM credit_hold h
                             WHERE h.tenant_id = e.tenant_id AND h.category = e.category AND h.status = 'open' AND h.expires_at > ?1) AS held
                        FROM expiring e)
                INSERT INTO credit_entry (tenant_id, category, kind, amount, balance_after, held_after, grant_seq, created_at)
                SELECT e.tenant_id, e.category, 'expiry', e.left, max(0, f.granted - f.held), f.held, e.seq, ?1 FROM expiring e JOIN funds f USING (seq) ORDER BY e.seq
                """, arguments: [now])
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
                    SELECT tenant_id, subject, category, sum(debited) AS debited, sum(totalled) AS totalled FROM (
                        SELECT tenant_id, \(column) AS subject, category, amount AS debited, 0 AS totalled FROM credit_debit WHERE \(column) != ''
                        UNION ALL
                        SELECT tenant_id, subject, category, 0, amount FROM usage_total WHERE dimension = '\(dimension)')
                    GROUP BY tenant_id, subject, category HAVING sum(debited) != sum(totalled)
                    """)
            {
                problems.append(
                    "tenant \(row["tenant_id"] as String) \(dimension) \(row["subject"] as String) \(row["category"] as String): debits add up to \(row["debited"] as Int64) but the usage totals say \(row["totalled"] as Int64)"
                )
            }
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT tenant_id, category, sum(kept) AS kept, sum(appended) AS appended FROM (
                    SELECT tenant_id, category, entries AS kept, 0 AS appended FROM credit_entry_count
                    UNION ALL
                    SELECT tenant_id, category, 0, 1 FROM credit_entry)
                GROUP BY tenant_id, category HAVING sum(kept) != sum(appended)
                """)
        {
            problems.append(
                "tenant \(row["tenant_id"] as String) \(row["category"] as String): the ledger's entry count says \(row["kept"] as Int64) but it holds \(row["appended"] as Int64)")
        }
        problems += try holdInconsistencies(db)
        let negative = try Int.fetchOne(db, sql: "SELECT count(*) FROM credit_grant WHERE used > amount OR used < 0") ?? 0
        if negative > 0 { problems.append("\(negative) grants are overdrawn") }
        return problems
    }

    /// Holds that do not add up: a settled hold without its debit (or with one of another
    /// amount), a debit two holds claim, a hold whose ledger entries do not show it placed
    /// once and ended as its status says, or a category whose last entry's held amount is
    /// not what the holds open at that instant reserved.
    private static func holdInconsistencies(_ db: Database) throws -> [String] {
        var problems: [String] = []
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT h.id, h.status, h.settled_amount, d.amount AS debited FROM credit_hold h LEFT JOIN credit_debit d ON d.seq = h.debit_seq
                WHERE (h.status = 'settled' AND h.settled_amount > 0 AND (d.seq IS NULL OR d.amount != h.settled_amount OR d.tenant_id != h.tenant_id OR d.category != h.category))
                   OR (h.status = 'settled' AND h.settled_amount = 0 AND h.debit_seq IS NOT NULL)
                   OR (h.status != 'settled' AND h.debit_seq IS NOT NULL)
                """)
        {
            problems.append(
                "hold \(row["id"] as String) is \(row["status"] as String) for \((row["settled_amount"] as Int64?) ?? 0) but its debit is \((row["debited"] as Int64?).map(String.init) ?? "missing")")
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT tenant_id, category, sum(kept) AS kept, sum(actual) AS actual FROM (
                    SELECT tenant_id, category, amount AS kept, holds AS kept_holds, 0 AS actual, 0 AS actual_holds FROM credit_hold_total
                    UNION ALL
                    SELECT tenant_id, category, 0, 0, amount, 1 FROM credit_hold WHERE status = 'open')
                GROUP BY tenant_id, category HAVING sum(kept) != sum(actual) OR sum(kept_holds) != sum(actual_holds)
                """)
        {
            problems.append(
                "tenant \(row["tenant_id"] as String) \(row["category"] as String): the open-hold total says \(row["kept"] as Int64) but open holds add up to \(row["actual"] as Int64)")
        }
        for row in try Row.fetchAll(db, sql: "SELECT debit_seq, count(*) AS n FROM credit_hold WHERE debit_seq IS NOT NULL GROUP BY debit_seq HAVING count(*) > 1") {
            problems.append("debit #\(row["debit_seq"] as Int64) settles \(row["n"] as Int) holds")
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                WITH e AS (
                    SELECT hold_seq, sum(kind = 'hold') AS placed, sum(kind = 'settle') AS settled, sum(kind = 'release') AS released, sum(kind = 'hold_expiry') AS expired
                    FROM credit_entry WHERE hold_seq IS NOT NULL GROUP BY hold_seq)
                SELECT h.id, h.status, coalesce(e.placed, 0) AS placed, coalesce(e.settled, 0) AS settled, coalesce(e.released, 0) AS released, coalesce(e.expired, 0) AS expired
                FROM credit_hold h LEFT JOIN e ON e.hold_seq = h.seq
                WHERE coalesce(e.placed, 0) != 1 OR coalesce(e.settled, 0) != (h.status = 'settled') OR coalesce(e.released, 0) != (h.status = 'released')
                   OR coalesce(e.expired, 0) > 1 OR (h.status = 'expired' AND coalesce(e.expired, 0) != 1)
                """)
        {
            problems.append(
                "hold \(row["id"] as String) is \(row["status"] as String) but the ledger shows it placed \(row["placed"] as Int), settled \(row["settled"] as Int), released \(row["released"] as Int) and expired \(row["expired"] as Int) times"
            )
        }
        for row in try Row.fetchAll(
            db,
            sql: """
                WITH last AS (
                    SELECT (SELECT seq FROM credit_entry e WHERE e.tenant_id = c.tenant_id AND e.category = c.category ORDER BY seq DESC LIMIT 1) AS seq
                    FROM credit_entry_count c)
                SELECT e.tenant_id, e.category, e.held_after,
                    (SELECT coalesce(sum(h.amount), 0) FROM credit_hold h
                     WHERE h.tenant_id = e.tenant_id AND h.category = e.category AND h.created_at <= e.created_at AND h.expires_at > e.created_at
                       AND (h.ended_at IS NULL OR h.ended_at > e.created_at)) AS reserved
                FROM last JOIN credit_entry e ON e.seq = last.seq WHERE e.held_after != reserved
                """)
        {
            problems.append(
                "tenant \(row["tenant_id"] as String) \(row["category"] as String): the ledger says \(row["held_after"] as Int64) held but open holds reserve \(row["reserved"] as Int64)")
        }
        return problems
    }
}
