import GRDB

/// Where a subscription is in its life (the seed's `SubscriptionStatus`).
public enum SubscriptionStatus: String, Codable, Sendable, CaseIterable {
    case trialing = "TRIALING"
    case active = "ACTIVE"
    case pastDue = "PAST_DUE"
    case canceled = "CANCELED"
    case expired = "EXPIRED"
}

/// The seed's `period`.
public enum BillingPeriod: String, Codable, Sendable, CaseIterable {
    case notDefined = "NOT_DEFINE"
    case monthly = "MONTHLY"
    case yearly = "YEARLY"

    var months: Int? {
        switch self {
        case .notDefined: nil
        case .monthly: 1
        case .yearly: 12
        }
    }
}

/// A tenant's subscription. The live one has no `endedAt`; ended ones are its history.
public struct Subscription: TenantryRecord, Equatable {
    public static let databaseTableName = "subscription"

    public var id: String
    public var tenantId: String
    public var plan: String
    public var period: BillingPeriod
    public var status: SubscriptionStatus
    public var variantId: String?
    public var startAt: Instant
    /// The trial's end or the current paid period's end; nil for FREE.
    public var endAt: Instant?
    public var cancelAtPeriodEnd: Bool
    public var endedAt: Instant?
    public var createdAt: Instant
    public var updatedAt: Instant
    /// A downgrade the owner asked for: at the period's end the tenant moves to this variant.
    public var scheduledVariantId: String? = nil

    public var isPaid: Bool { period != .notDefined }

    static func live(_ db: Database, tenantId: String) throws -> Subscription? {
        try Subscription.fetchOne(db.cachedStatement(sql: "SELECT * FROM subscription WHERE tenant_id = ? AND ended_at IS NULL"), arguments: [tenantId])
    }

    public var info: SubscriptionInfo {
        SubscriptionInfo(plan: plan, period: period.rawValue, status: status.rawValue, startAt: startAt, endAt: endAt)
    }
}

extension Subscription {
    /// Reads a row by column name: timers read thousands of these per batch.
    public init(row: Row) {
        self.init(
            id: row["id"], tenantId: row["tenant_id"], plan: row["plan"], period: BillingPeriod(rawValue: row["period"]) ?? .notDefined,
            status: SubscriptionStatus(rawValue: row["status"]) ?? .expired, variantId: row["variant_id"], startAt: row["start_at"],
            endAt: row["end_at"], cancelAtPeriodEnd: row["cancel_at_period_end"], endedAt: row["ended_at"], createdAt: row["created_at"],
            updatedAt: row["updated_at"], scheduledVariantId: row["scheduled_variant_id"]
        )
    }
}

/// A stretch of a subscription that carries allowances: the trial, one paid period, or
/// FREE from its start on. Grants are made month by month from `nextGrantAt`.
struct Entitlement: TenantryRecord {
    enum Kind: String, Codable { case trial, period, free }

    static let databaseTableName = "entitlement"

    var id: String
    var subscriptionId: String
    var tenantId: String
    var plan: String
    var kind: Kind
    var startAt: Instant
    var endAt: Instant?
    var invoiceId: String?
    var paid: Bool
    var nextGrantAt: Instant?
}

extension Entitlement {
    init(row: Row) {
        self.init(
            id: row["id"], subscriptionId: row["subscription_id"], tenantId: row["tenant_id"], plan: row["plan"],
            kind: Kind(rawValue: row["kind"]) ?? .free, startAt: row["start_at"], endAt: row["end_at"], invoiceId: row["invoice_id"],
            paid: row["paid"], nextGrantAt: row["next_grant_at"]
        )
    }

    func insert(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO entitlement (id, subscription_id, tenant_id, plan, kind, start_at, end_at, invoice_id, paid, next_grant_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [id, subscriptionId, tenantId, plan, kind.rawValue, startAt, endAt, invoiceId, paid, nextGrantAt])
    }
}

extension Subscription {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let tenantId = Column("tenant_id")
        public static let plan = Column("plan")
        public static let period = Column("period")
        public static let status = Column("status")
        public static let variantId = Column("variant_id")
        public static let startAt = Column("start_at")
        public static let endAt = Column("end_at")
        public static let cancelAtPeriodEnd = Column("cancel_at_period_end")
        public static let endedAt = Column("ended_at")
        public static let createdAt = Column("created_at")
        public static let updatedAt = Column("updated_at")
    }
}

extension Entitlement {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let subscriptionId = Column("subscription_id")
        public static let tenantId = Column("tenant_id")
        public static let plan = Column("plan")
        public static let kind = Column("kind")
        public static let startAt = Column("start_at")
        public static let endAt = Column("end_at")
        public static let invoiceId = Column("invoice_id")
        public static let paid = Column("paid")
        public static let nextGrantAt = Column("next_grant_at")
    }
}
