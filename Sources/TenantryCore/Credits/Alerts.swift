import Foundation
import GRDB

/// When a tenant hears that its credits run low: a percentage of the period's allowance
/// used, or an absolute amount left.
public struct AlertThreshold: Sendable, Equatable, Codable {
    /// 1...100, or 0 when `remaining` is the threshold.
    public var percent: Int
    public var remaining: Int64

    public static func percent(_ percent: Int) -> AlertThreshold { AlertThreshold(percent: percent, remaining: 0) }
    public static func remaining(_ amount: Int64) -> AlertThreshold { AlertThreshold(percent: 0, remaining: amount) }

    /// How the threshold is stored on an alert, and its identity within a window.
    var key: String { percent > 0 ? "percent:\(percent)" : "remaining:\(remaining)" }

    public init(percent: Int, remaining: Int64) {
        self.percent = percent
        self.remaining = remaining
    }

    init?(key: String) {
        let parts = key.split(separator: ":")
        guard parts.count == 2, let value = Int64(parts[1]) else { return nil }
        switch parts[0] {
        case "percent": self.init(percent: Int(value), remaining: 0)
        case "remaining": self.init(percent: 0, remaining: value)
        default: return nil
        }
    }

    /// The balance at or below which it fires; nil for a percentage when there is no allowance.
    func level(allowance: Int64) -> Int64? {
        guard percent > 0 else { return remaining }
        guard allowance > 0 || percent == 100 else { return nil }
        return allowance * Int64(100 - percent) / 100
    }

    var event: String { (percent == 100 || (percent == 0 && remaining == 0)) ? "credits.depleted" : "credits.low" }

    func validate(field: String) throws {
        if percent != 0 {
            guard (1...100).contains(percent), remaining == 0 else { throw DomainError.invalidArgument("\(field) takes a percent from 1 to 100, or a remaining amount, not both") }
        } else {
            _ = try Amount.nonNegative(remaining, field: "\(field).remaining")
        }
    }
}

/// An alert that fired.
public struct CreditAlert: Sendable, Equatable {
    public let category: String
    public let event: String
    public let threshold: AlertThreshold
    public let level: Int64
    public let available: Int64
    public let allowance: Int64
    public let windowStart: Instant
    public let firedAt: Instant
}

/// A tenant's thresholds (its own, or its plan's) and whether its owners get an email.
public struct AlertSettings: Sendable, Equatable {
    public let thresholds: [AlertThreshold]
    public let inherited: Bool
    public let email: Bool
}

/// Alerts before credits run out, evaluated in the transaction of every change that lowers
/// a balance. Each threshold fires once per allowance window and category, however many
/// debits cross it at once: the writer runs them one after another, and the alert's row is
/// unique per window.
enum Alerts {
    static func settings(_ db: Database, tenantId: String) throws -> AlertSettings {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT thresholds, email FROM credit_alert_setting WHERE tenant_id = ?"), arguments: [tenantId])
        let email = row.map { $0["email"] as Bool } ?? true
        if let text = row?["thresholds"] as String?, let own = try? JSONDecoder().decode([AlertThreshold].self, from: Data(text.utf8)) {
            return AlertSettings(thresholds: own, inherited: false, email: email)
        }
        let plan = try Subscription.live(db, tenantId: tenantId).flatMap { try Plan.effective(db, planName: $0.plan, tenantId: tenantId) }
        let percents = plan?.config.effectiveAlertThresholds ?? PlanConfig.defaultAlertThresholds
        return AlertSettings(thresholds: percents.map(AlertThreshold.percent), inherited: true, email: email)
    }

    /// Fires what `available` has reached. A stored next level keeps the common case (above
    /// every threshold not yet fired) at one lookup.
    static func evaluate(_ db: Database, tenantId: String, category: String, available: Int64, periodStart: Instant, at now: Instant) throws {
        if let state = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT window_start, next_level FROM credit_alert_state WHERE tenant_id = ? AND category = ?"), arguments: [tenantId, category]),
            state["window_start"] as Instant == periodStart, available > state["next_level"] as Int64
        {
            return
        }
        let allowance =
            try Int64.fetchOne(
                db.cachedStatement(
                    sql: "SELECT coalesce(sum(amount), 0) FROM credit_grant WHERE tenant_id = ? AND category = ? AND source IN ('plan', 'trial') AND effective_at = ?"),
                arguments: [tenantId, category, periodStart]) ?? 0
        let settings = try settings(db, tenantId: tenantId)
        let fired = Set(
            try String.fetchAll(
                db.cachedStatement(sql: "SELECT threshold FROM credit_alert WHERE tenant_id = ? AND category = ? AND window_start = ?"),
                arguments: [tenantId, category, periodStart]))
        var nextLevel: Int64 = -1
        for threshold in settings.thresholds where !fired.contains(threshold.key) {
            guard let level = threshold.level(allowance: allowance) else { continue }
            guard available <= level else {
                nextLevel = max(nextLevel, level)
                continue
            }
            try fire(
                db, tenantId: tenantId, category: category, threshold: threshold, level: level, available: available, allowance: allowance, periodStart: periodStart, email: settings.email, at: now)
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO credit_alert_state (tenant_id, category, window_start, next_level) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET window_start = excluded.window_start, next_level = excluded.next_level
                """
        ).execute(arguments: [tenantId, category, periodStart, nextLevel])
    }

    private static func fire(
        _ db: Database, tenantId: String, category: String, threshold: AlertThreshold, level: Int64, available: Int64, allowance: Int64, periodStart: Instant, email: Bool,
        at now: Instant
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO credit_alert (tenant_id, category, window_start, threshold, event, level, available, allowance, fired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [tenantId, category, periodStart, threshold.key, threshold.event, level, available, allowance, now])
        try WebhookEvents.emit(
            db, threshold.event,
            [
                ("tenant_id", tenantId), ("category", category), ("threshold", threshold.key), ("level", String(level)), ("available", String(available)),
                ("allowance", String(allowance)), ("window_start", periodStart.rfc3339),
            ], at: now)
        guard email else { return }
        let tenantName = try String.fetchOne(db, sql: "SELECT name FROM tenant WHERE id = ?", arguments: [tenantId]) ?? tenantId
        let owners = try String.fetchAll(
            db, sql: "SELECT u.email FROM membership m JOIN user u ON u.id = m.user_id WHERE m.tenant_id = ? AND m.role = 'owner' AND u.status = 'ACTIVE' ORDER BY u.email",
            arguments: [tenantId])
        for owner in owners {
            try Mailer.queue(db, to: owner, Emails.creditsAlert(tenantName: tenantName, category: category, threshold: threshold, available: available, allowance: allowance), at: now)
        }
    }

    /// Forgets the stored next levels, when thresholds or plans change.
    static func forgetLevels(_ db: Database, tenantId: String? = nil) throws {
        if let tenantId {
            try db.execute(sql: "DELETE FROM credit_alert_state WHERE tenant_id = ?", arguments: [tenantId])
        } else {
            try db.execute(sql: "DELETE FROM credit_alert_state")
        }
    }

    static func history(_ db: Database, tenantId: String, paging: Paging) throws -> (alerts: [CreditAlert], total: Int) {
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM credit_alert WHERE tenant_id = ?", arguments: [tenantId]) ?? 0
        let alerts = try Row.fetchAll(
            db, sql: "SELECT * FROM credit_alert WHERE tenant_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?", arguments: [tenantId, paging.limit, paging.offset]
        ).map { row in
            CreditAlert(
                category: row["category"], event: row["event"], threshold: AlertThreshold(key: row["threshold"]) ?? .remaining(0), level: row["level"],
                available: row["available"], allowance: row["allowance"], windowStart: row["window_start"], firedAt: row["fired_at"])
        }
        return (alerts, total)
    }
}
