import Foundation
import GRDB

/// A plan (its config stored as a JSON column): its configuration, how long its credits outlive a period, and for trials how
/// long the trial lasts.
public struct Plan: TenantryRecord, Equatable {
    public static let databaseTableName = "plan"

    /// The plan names the product knows; a tenant-specific plan is named by its tenant's id.
    public static let builtIn = ["FREE", "NEW_USER_TRIAL", "BYOA_USER_TRIAL", "PRO", "BUSINESS", "CUSTOM"]
    public static let trialPlans: Set<String> = ["NEW_USER_TRIAL", "BYOA_USER_TRIAL"]

    public var name: String
    public var config: PlanConfig
    public var description: String
    public var creditExtensionDays: Int
    public var trialDays: Int?
    public var firstUsedAt: Instant?
    public var createdAt: Instant
    public var updatedAt: Instant

    public var hasUsed: Bool { firstUsedAt != nil }
    public var isTrial: Bool { trialDays != nil }
}

extension Plan {
    static func fetch(_ db: Database, name: String) throws -> Plan? {
        try Plan.fetchOne(db, key: name)
    }

    /// The plan whose config applies to a tenant on `planName`: a `CUSTOM` subscription
    /// uses the plan named by the tenant's id when there is one.
    static func effective(_ db: Database, planName: String, tenantId: String) throws -> Plan? {
        if planName == "CUSTOM", let specific = try fetch(db, name: tenantId) { return specific }
        return try fetch(db, name: planName)
    }

    /// Records that a subscription uses the plan (it can no longer be deleted).
    static func markUsed(_ db: Database, name: String, at now: Instant) throws {
        try db.cachedStatement(sql: "UPDATE plan SET first_used_at = ? WHERE name = ? AND first_used_at IS NULL").execute(arguments: [now, name])
    }
}

extension Plan {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let name = Column("name")
        public static let config = Column("config")
        public static let description = Column("description")
        public static let creditExtensionDays = Column("credit_extension_days")
        public static let trialDays = Column("trial_days")
        public static let firstUsedAt = Column("first_used_at")
        public static let createdAt = Column("created_at")
        public static let updatedAt = Column("updated_at")
    }
}
