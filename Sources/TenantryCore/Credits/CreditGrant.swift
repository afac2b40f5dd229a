import GRDB

/// Credits of one category a tenant may spend between `effectiveAt` and `expiresAt`.
public struct CreditGrant: TenantryRecord, Equatable {
    public enum Source: String, Codable, Sendable, CaseIterable { case plan, trial, addon, `operator`, rollover }

    /// Lower priorities burn first: allowances before an operator's gifts before bought add-ons.
    public static func priority(of source: Source) -> Int {
        switch source {
        case .plan, .trial, .rollover: 0
        case .operator: 10
        case .addon: 20
        }
    }

    public static let databaseTableName = "credit_grant"

    public var seq: Int64?
    public var id: String
    public var tenantId: String
    public var category: String
    public var amount: Int64
    public var used: Int64
    public var effectiveAt: Instant
    public var expiresAt: Instant
    public var source: Source
    public var priority: Int
    public var entitlementId: String?
    public var monthStart: Instant?
    public var invoiceId: String?
    public var reason: String
    public var createdBy: String?
    public var createdAt: Instant
    public var expired: Bool
    /// A plan grant's period end, until the rollover step has looked at it.
    public var rolloverDueAt: Instant?
    /// The grant a rollover grant continues.
    public var rolledFromSeq: Int64?

    public var remaining: Int64 { amount - used }

    static func new(
        tenantId: String, category: String, amount: Int64, effectiveAt: Instant, expiresAt: Instant, source: Source,
        entitlementId: String? = nil, monthStart: Instant? = nil, invoiceId: String? = nil, reason: String = "", createdBy: String? = nil,
        rolloverDueAt: Instant? = nil, rolledFromSeq: Int64? = nil, now: Instant
    ) -> CreditGrant {
        CreditGrant(
            seq: nil, id: Secrets.identifier("grt"), tenantId: tenantId, category: category, amount: amount, used: 0,
            effectiveAt: effectiveAt, expiresAt: expiresAt, source: source, priority: priority(of: source),
            entitlementId: entitlementId, monthStart: monthStart, invoiceId: invoiceId, reason: reason, createdBy: createdBy,
            createdAt: now, expired: false, rolloverDueAt: rolloverDueAt, rolledFromSeq: rolledFromSeq
        )
    }
}

extension CreditGrant {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let seq = Column("seq")
        public static let id = Column("id")
        public static let tenantId = Column("tenant_id")
        public static let category = Column("category")
        public static let amount = Column("amount")
        public static let used = Column("used")
        public static let effectiveAt = Column("effective_at")
        public static let expiresAt = Column("expires_at")
        public static let source = Column("source")
        public static let priority = Column("priority")
        public static let entitlementId = Column("entitlement_id")
        public static let monthStart = Column("month_start")
        public static let invoiceId = Column("invoice_id")
        public static let reason = Column("reason")
        public static let createdBy = Column("created_by")
        public static let createdAt = Column("created_at")
        public static let expired = Column("expired")
        public static let rolloverDueAt = Column("rollover_due_at")
        public static let rolledFromSeq = Column("rolled_from_seq")
    }
}
