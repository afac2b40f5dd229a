import GRDB

/// The ledger as its readers see it: one entry per change of a balance (a grant, a debit, a
/// hold placed, settled, released or expired, an expiry), appended in the change's own
/// transaction with the category's balance and holds after it, so reading a page costs
/// what the page holds, however long the ledger grows.
public enum Journal {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A database from before the journal starts with each live balance.
        case opening
        case grant, rollover, debit, hold, settle, release
        case holdExpiry = "hold_expiry"
        case expiry
    }

    static func record(
        _ db: Database, tenantId: String, category: String, kind: Kind, amount: Int64, funds: Ledger.Funds, grantSeq: Int64? = nil, debitSeq: Int64? = nil,
        holdSeq: Int64? = nil, agentId: String = "", datasetId: String = "", at now: Instant
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO credit_entry (tenant_id, category, kind, amount, balance_after, held_after, grant_seq, debit_seq, hold_seq, agent_id, dataset_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [tenantId, category, kind.rawValue, amount, funds.available, funds.held, grantSeq, debitSeq, holdSeq, agentId, datasetId, now])
    }

    public struct Entry: Sendable, Equatable {
        public struct Draw: Sendable, Equatable {
            public let grantId: String
            public let amount: Int64
        }

        public let seq: Int64
        public let kind: Kind
        public let category: String
        public let amount: Int64
        public let balanceAfter: Int64
        public let heldAfter: Int64
        public let grantId: String
        /// The grant's source, for grant, rollover and expiry entries ("" otherwise).
        public let source: String
        public let debitId: String
        public let holdId: String
        public let agentId: String
        public let datasetId: String
        public let drawnFrom: [Draw]
        public let createdAt: Instant
    }

    public struct Filter: Sendable {
        public var category: String?
        public var agentId: String?
        public var from: Instant?
        public var to: Instant?
        public var newestFirst = false

        public init(category: String? = nil, agentId: String? = nil, from: Instant? = nil, to: Instant? = nil, newestFirst: Bool = false) {
            self.category = category
            self.agentId = agentId
            self.from = from
            self.to = to
            self.newestFirst = newestFirst
        }
    }

    /// One page of a tenant's entries, with the grants each debit drew from, and how many match.
    static func entries(_ db: Database, tenantId: String, filter: Filter, paging: Paging) throws -> (entries: [Entry], total: Int) {
        var conditions = ["e.tenant_id = ?"]
        var arguments: StatementArguments = [tenantId]
        if let category = filter.category {
            conditions.append("e.category = ?")
            arguments += [category]
        }
        if let agentId = filter.agentId {
            conditions.append("e.agent_id = ?")
            arguments += [agentId]
        }
        if let from = filter.from {
            conditions.append("e.created_at >= ?")
            arguments += [from]
        }
        if let to = filter.to {
            conditions.append("e.created_at < ?")
            arguments += [to]
        }
        let condition = conditions.joined(separator: " AND ")
        // Unfiltered, or by category, the total is kept (`credit_entry_count`); other filters
        // count what they match.
        let total: Int
        if filter.agentId == nil, filter.from == nil, filter.to == nil {
            total =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT coalesce(sum(entries), 0) FROM credit_entry_count WHERE tenant_id = ?1 AND (?2 IS NULL OR category = ?2)"),
                    arguments: [tenantId, filter.category]) ?? 0
        } else {
            total = try Int.fetchOne(db, sql: "SELECT count(*) FROM credit_entry e WHERE \(condition)", arguments: arguments) ?? 0
        }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT e.*, coalesce(g.id, '') AS grant_id, coalesce(g.source, '') AS source, coalesce(d.id, '') AS debit_id, coalesce(h.id, '') AS hold_id
                FROM credit_entry e
                LEFT JOIN credit_grant g ON g.seq = e.grant_seq LEFT JOIN credit_debit d ON d.seq = e.debit_seq LEFT JOIN credit_hold h ON h.seq = e.hold_seq
                WHERE \(condition) ORDER BY e.seq \(filter.newestFirst ? "DESC" : "ASC") LIMIT ? OFFSET ?
                """, arguments: arguments + [paging.limit, paging.offset])
        let debits = rows.compactMap { $0["debit_seq"] as Int64? }
        var draws: [Int64: [Entry.Draw]] = [:]
        if !debits.isEmpty {
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT p.debit_seq, g.id, p.amount FROM credit_debit_part p JOIN credit_grant g ON g.seq = p.grant_seq
                    WHERE p.debit_seq IN (\(databaseQuestionMarks(count: debits.count))) ORDER BY p.debit_seq, g.priority, g.expires_at, g.seq
                    """, arguments: StatementArguments(debits))
            {
                draws[row["debit_seq"], default: []].append(Entry.Draw(grantId: row["id"], amount: row["amount"]))
            }
        }
        let entries = rows.map { row in
            Entry(
                seq: row["seq"], kind: Kind(rawValue: row["kind"]) ?? .debit, category: row["category"], amount: row["amount"], balanceAfter: row["balance_after"],
                heldAfter: row["held_after"], grantId: row["grant_id"], source: row["source"], debitId: row["debit_id"], holdId: row["hold_id"],
                agentId: row["agent_id"], datasetId: row["dataset_id"], drawnFrom: (row["debit_seq"] as Int64?).flatMap { draws[$0] } ?? [], createdAt: row["created_at"]
            )
        }
        return (entries, total)
    }
}
