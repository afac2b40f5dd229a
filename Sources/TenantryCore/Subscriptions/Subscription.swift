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

    public var isPaid: Bool { period != .notDefined }

    static func live(_ db: Database, tenantId: String) throws -> Subscription? {
        try Subscription.filter(Column("tenant_id") == tenantId && Column("ended_at") == nil).fetchOne(db)
    }

    public var info: SubscriptionInfo {
        SubscriptionInfo(plan: plan, period: period.rawValue, status: status.rawValue, startAt: startAt, endAt: endAt)
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
