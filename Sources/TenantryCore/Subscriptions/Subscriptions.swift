import GRDB

/// What a tenant's subscription looks like from outside (the seed's `subscription_info`).
public struct SubscriptionInfo: Sendable, Equatable {
    public var plan: String
    public var period: String
    public var status: String
    public var startAt: Instant?
    public var endAt: Instant?

    public static let none = SubscriptionInfo(plan: "FREE", period: "NOT_DEFINE", status: "NO_SUBSCRIPTION", startAt: nil, endAt: nil)
}

/// The seam between tenants and billing. Plans, subscriptions and credits arrive with the
/// billing work (issue 3); until then a new tenant has no subscription, reports
/// `NO_SUBSCRIPTION`, and has no team size limit. Every caller already goes through here.
public enum Subscriptions {
    /// Called in the same write that creates a tenant.
    static func startNewTenant(_ db: Database, tenantId: String, at now: Instant) throws {}

    /// The subscription of a tenant as the seed reports it.
    public static func info(_ db: Database, tenantId: String?) throws -> SubscriptionInfo { .none }

    /// The most members (and pending invites) a tenant's plan allows; nil means no limit.
    static func teamMemberLimit(_ db: Database, tenantId: String) throws -> Int? { nil }
}
