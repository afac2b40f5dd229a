import Foundation
import GRDB

/// What a tenant's admins set on its credits: caps per agent and per API key, and alerts.
extension CreditService {
    public static let maximumLimits = 1000
    public static let maximumThresholds = 20

    /// Replaces the tenant's caps; each starts counting what its window has used already.
    public func setLimits(tenantId: String, _ limits: [CreditLimit], by actor: AuditActor) async throws -> [CreditLimitUsage] {
        guard limits.count <= Self.maximumLimits else { throw DomainError.invalidArgument("at most \(Self.maximumLimits) limits") }
        var seen: Set<String> = []
        for (index, limit) in limits.enumerated() {
            let field = "limits[\(index)]"
            try PlanConfig.validateCategory(limit.category, field: "\(field).category")
            _ = try Amount.nonNegative(limit.limit, field: "\(field).limit")
            guard !limit.subject.isEmpty, limit.subject.utf8.count <= 200, !limit.subject.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw DomainError.invalidArgument("\(field).subject must be 1 to 200 bytes without control characters")
            }
            guard seen.insert("\(limit.scope)\u{1F}\(limit.subject)\u{1F}\(limit.category)\u{1F}\(limit.window)").inserted else {
                throw DomainError.invalidArgument("\(field) repeats the cap on \(limit.description)")
            }
        }
        let now = context.clock.now()
        return try await database.write { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            for (index, limit) in limits.enumerated() where limit.scope == .apiKey {
                guard try ApiKey.filter(ApiKey.Columns.id == limit.subject && ApiKey.Columns.tenantId == tenantId).fetchCount(db) > 0 else {
                    throw DomainError.invalidArgument("limits[\(index)].subject: tenant \(tenantId) has no API key \(limit.subject)")
                }
            }
            let before = try Self.limits(db, tenantId: tenantId, at: now).map(\.limit)
            try db.execute(sql: "DELETE FROM credit_limit WHERE tenant_id = ?", arguments: [tenantId])
            let periodStart = try Ledger.windowStart(db, tenantId: tenantId, at: now)
            for limit in limits {
                let start = Caps.windowStart(limit.window, periodStart: periodStart, at: now)
                let column = limit.scope == .agent ? "agent_id" : "api_key_id"
                let used =
                    try Int64.fetchOne(
                        db, sql: "SELECT coalesce(sum(amount), 0) FROM credit_debit WHERE tenant_id = ? AND category = ? AND \(column) = ? AND created_at >= ?",
                        arguments: [tenantId, limit.category, limit.subject, start]) ?? 0
                try db.execute(
                    sql: """
                        INSERT INTO credit_limit (tenant_id, category, scope, subject, window_kind, amount, window_start, used, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [tenantId, limit.category, limit.scope.rawValue, limit.subject, limit.window.rawValue, limit.limit, start, used, now])
            }
            let after = try Self.limits(db, tenantId: tenantId, at: now)
            try AuditLog.record(
                db, actor: actor, action: "credits.limits", targetType: "tenant", targetId: tenantId, tenantId: tenantId, before: before.map(AuditedLimit.init),
                after: after.map { AuditedLimit($0.limit) }, at: now)
            return after
        }
    }

    public func limits(tenantId: String) throws -> [CreditLimitUsage] {
        let now = context.clock.now()
        return try database.read { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            return try Self.limits(db, tenantId: tenantId, at: now)
        }
    }

    static func limits(_ db: Database, tenantId: String, at now: Instant) throws -> [CreditLimitUsage] {
        let periodStart = try Ledger.windowStart(db, tenantId: tenantId, at: now)
        return try Row.fetchAll(db, sql: "SELECT * FROM credit_limit WHERE tenant_id = ? ORDER BY scope, subject, category, window_kind", arguments: [tenantId]).compactMap { row in
            guard let scope = CreditLimit.Scope(rawValue: row["scope"]), let window = CreditLimit.Window(rawValue: row["window_kind"]) else { return nil }
            let limit = CreditLimit(scope: scope, subject: row["subject"], category: row["category"], limit: row["amount"], window: window)
            let start = Caps.windowStart(window, periodStart: periodStart, at: now)
            return CreditLimitUsage(
                limit: limit, used: row["window_start"] as Instant == start ? row["used"] : 0, windowStart: start, windowEnd: Caps.windowEnd(window, start: start))
        }
    }

    /// How a limit appears in the audit trail.
    private struct AuditedLimit: Encodable {
        let scope: String
        let subject: String
        let category: String
        let limit: Int64
        let window: String

        init(_ limit: CreditLimit) {
            scope = limit.scope.rawValue
            subject = limit.subject
            category = limit.category
            self.limit = limit.limit
            window = limit.window.rawValue
        }
    }

    public struct AlertsView: Sendable {
        public let settings: AlertSettings
        public let alerts: TenantService.Page<CreditAlert>
    }

    public func alerts(tenantId: String, page: Int, limit: Int) async throws -> AlertsView {
        let paging = try Paging(page: page, limit: limit)
        return try await database.report { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let history = try Alerts.history(db, tenantId: tenantId, paging: paging)
            return AlertsView(settings: try Alerts.settings(db, tenantId: tenantId), alerts: TenantService.Page(items: history.alerts, page: page, limit: limit, total: history.total))
        }
    }

    /// What a tenant changes of its alerts: its own thresholds (or back to its plan's), and
    /// whether its owners get emails. nil keeps the current value.
    public struct AlertChanges: Sendable {
        public var thresholds: [AlertThreshold]?
        public var inherit: Bool
        public var email: Bool?

        public init(thresholds: [AlertThreshold]?, inherit: Bool, email: Bool?) {
            self.thresholds = thresholds
            self.inherit = inherit
            self.email = email
        }
    }

    public func setAlerts(tenantId: String, _ changes: AlertChanges, by actor: AuditActor) async throws -> AlertSettings {
        if let thresholds = changes.thresholds {
            guard !changes.inherit else { throw DomainError.invalidArgument("send thresholds or inherit, not both") }
            guard thresholds.count <= Self.maximumThresholds else { throw DomainError.invalidArgument("at most \(Self.maximumThresholds) thresholds") }
            for (index, threshold) in thresholds.enumerated() { try threshold.validate(field: "thresholds[\(index)]") }
            guard Set(thresholds.map(\.key)).count == thresholds.count else { throw DomainError.invalidArgument("thresholds lists one threshold twice") }
        }
        let now = context.clock.now()
        return try await database.write { db in
            guard try Tenant.exists(db, key: tenantId) else { throw DomainError.notFound("no tenant \(tenantId)") }
            let before = try Alerts.settings(db, tenantId: tenantId)
            let stored: String?
            if changes.inherit {
                stored = nil
            } else if let thresholds = changes.thresholds {
                stored = String(decoding: try JSONEncoder.sorted.encode(thresholds), as: UTF8.self)
            } else {
                stored = try String.fetchOne(db, sql: "SELECT thresholds FROM credit_alert_setting WHERE tenant_id = ?", arguments: [tenantId])
            }
            try db.execute(
                sql: """
                    INSERT INTO credit_alert_setting (tenant_id, thresholds, email, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET thresholds = excluded.thresholds, email = excluded.email, updated_at = excluded.updated_at
                    """, arguments: [tenantId, stored, changes.email ?? before.email, now])
            try Alerts.forgetLevels(db, tenantId: tenantId)
            let after = try Alerts.settings(db, tenantId: tenantId)
            try AuditLog.record(
                db, actor: actor, action: "credits.alerts", targetType: "tenant", targetId: tenantId, tenantId: tenantId, before: AuditedAlerts(before),
                after: AuditedAlerts(after), at: now)
            return after
        }
    }

    private struct AuditedAlerts: Encodable {
        let thresholds: [AlertThreshold]
        let inherited: Bool
        let email: Bool

        init(_ settings: AlertSettings) {
            thresholds = settings.thresholds
            inherited = settings.inherited
            email = settings.email
        }
    }
}
