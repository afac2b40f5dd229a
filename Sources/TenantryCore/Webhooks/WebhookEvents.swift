import Foundation
import GRDB

/// The events Tenantry sends to webhooks: each with a stable name, what it means, and an
/// example of its `data`. A payload is the Standard Webhooks shape, versioned:
/// `{"type", "timestamp", "version": 1, "data": {…}}`, with the seed's conventions in `data`
/// (snake_case names, int64 as decimal strings, RFC 3339 dates, "" for none).
public enum WebhookEvents {
    public struct Kind: Sendable {
        public let name: String
        public let description: String
        public let example: [(String, String)]
    }

    public static let payloadVersion = 1

    public static let catalogue: [Kind] = [
        Kind(name: "tenant.created", description: "A tenant was created (a sign-up's personal tenant).", example: [("tenant_id", "tnt_example"), ("name", "Ann's workspace")]),
        Kind(
            name: "member.added", description: "Someone joined a tenant by accepting an invitation.",
            example: [("tenant_id", "tnt_example"), ("user_id", "usr_example"), ("email", "bo@example.com"), ("role", "admin")]),
        Kind(
            name: "member.removed", description: "A member left or was removed from a tenant.",
            example: [("tenant_id", "tnt_example"), ("user_id", "usr_example"), ("email", "bo@example.com"), ("role", "member")]),
        Kind(name: "subscription.trial_will_end", description: "A trial ends in 3 days or less (sent once per trial).", example: subscriptionExample("TRIALING")),
        Kind(name: "subscription.activated", description: "A paid subscription began (its first invoice was paid).", example: subscriptionExample("ACTIVE")),
        Kind(name: "subscription.changed", description: "A tenant moved to another paid plan or period.", example: subscriptionExample("ACTIVE")),
        Kind(name: "subscription.renewed", description: "A paid subscription entered its next period.", example: subscriptionExample("ACTIVE")),
        Kind(name: "subscription.past_due", description: "A renewal invoice was not paid within its grace.", example: subscriptionExample("PAST_DUE")),
        Kind(name: "subscription.canceled", description: "A subscription canceled at its period's end ended; the tenant is on FREE.", example: subscriptionExample("CANCELED")),
        Kind(name: "subscription.expired", description: "A trial or an unpaid subscription ended; the tenant is on FREE.", example: subscriptionExample("EXPIRED")),
        Kind(name: "invoice.created", description: "An invoice was opened.", example: invoiceExample("open")),
        Kind(name: "invoice.paid", description: "An invoice was paid.", example: invoiceExample("paid")),
        Kind(name: "credits.granted", description: "Credits were granted: a period's allowance, an add-on, or an operator's grant.", example: grantExample),
        Kind(
            name: "credits.expired", description: "What was left of a grant expired.",
            example: [("tenant_id", "tnt_example"), ("grant_id", "grt_example"), ("category", "USAGE_AI_CREDIT"), ("amount", "250"), ("expired_at", "2026-12-31T00:00:00.000Z")]),
        Kind(
            name: "credits.low",
            description: "A category's balance reached an alert threshold (a percentage of the period's allowance used, or an amount left); once per threshold and allowance window.",
            example: alertExample),
        Kind(
            name: "credits.depleted", description: "A category's balance reached its last threshold: the allowance is used up (or nothing is left); once per allowance window.", example: alertExample),
        Kind(
            name: "credits.hold_expired", description: "A hold passed its TTL unsettled; it stopped reserving credits at expired_at.",
            example: [
                ("tenant_id", "tnt_example"), ("hold_id", "hld_example"), ("category", "USAGE_AI_CREDIT"), ("amount", "40"), ("agent_id", "agent-1"),
                ("expired_at", "2026-12-31T00:05:00.000Z"),
            ]),
        Kind(name: "api_key.created", description: "A tenant's or an operator's API key was created.", example: apiKeyExample),
        Kind(name: "api_key.revoked", description: "An API key was revoked.", example: apiKeyExample),
        Kind(name: "webhook.test", description: "Sent by an operator to check an endpoint.", example: [("webhook_id", "whk_example"), ("message", "a test event from Tenantry")]),
    ]

    public static let names: Set<String> = Set(catalogue.map(\.name))

    /// The endpoints that take the event named by the one argument: active, and subscribed to it or to "*".
    private static let takingEvent = "is_active = 1 AND EXISTS (SELECT 1 FROM json_each(webhook.events) WHERE value IN (?, '*'))"

    /// Fans an event out to every active endpoint that takes it, as pending deliveries in
    /// the caller's transaction: a crash can neither lose the event nor invent one.
    static func emit(_ db: Database, _ name: String, _ data: [(String, String)], at now: Instant, only webhookId: String? = nil) throws {
        precondition(names.contains(name), "unknown webhook event \(name)")
        var endpoints = try String.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM webhook WHERE \(takingEvent)"),
            arguments: [name]
        )
        if let webhookId { endpoints = endpoints.filter { $0 == webhookId } }
        guard !endpoints.isEmpty else { return }
        let payload = Self.payload(name, data, at: now)
        let messageId = Secrets.identifier("msg")
        for endpoint in endpoints {
            try WebhookDelivery(
                id: Secrets.identifier("whd"), webhookId: endpoint, messageId: messageId, eventType: name, payload: payload, status: .pending, attempt: 0,
                createdAt: now, httpStatus: nil, responseBody: nil, errorMessage: nil, nextRetryAt: now, completedAt: nil
            ).insert(db)
        }
        try db.cachedStatement(sql: "UPDATE webhook SET last_triggered_at = ? WHERE id IN (\(databaseQuestionMarks(count: endpoints.count)))")
            .execute(arguments: StatementArguments([now] as [any DatabaseValueConvertible]) + StatementArguments(endpoints))
    }

    /// Whether any active endpoint takes `name`: for callers that would otherwise build many events for nobody.
    static func anyEndpoint(_ db: Database, for name: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM webhook WHERE \(takingEvent))"),
            arguments: [name]
        ) ?? false
    }

    /// `{"type","timestamp","version","data"}` with `data`'s fields in order.
    static func payload(_ name: String, _ data: [(String, String)], at now: Instant) -> String {
        let fields = data.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",")
        return "{\"type\":\(jsonString(name)),\"timestamp\":\(jsonString(now.rfc3339)),\"version\":\(payloadVersion),\"data\":{\(fields)}}"
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: - The data of each kind of event

    static func subscription(_ subscription: Subscription) -> [(String, String)] {
        [
            ("tenant_id", subscription.tenantId), ("subscription_id", subscription.id), ("plan", subscription.plan), ("period", subscription.period.rawValue),
            ("status", subscription.status.rawValue), ("start_at", subscription.startAt.rfc3339), ("end_at", subscription.endAt?.rfc3339 ?? ""),
            ("cancel_at_period_end", subscription.cancelAtPeriodEnd ? "true" : "false"),
        ]
    }

    static func invoice(_ invoice: Invoice) -> [(String, String)] {
        [
            ("tenant_id", invoice.tenantId), ("invoice_id", invoice.id), ("number", String(invoice.number)), ("kind", invoice.kind.rawValue),
            ("status", invoice.status.rawValue), ("plan", invoice.plan), ("period", invoice.period.rawValue), ("currency", invoice.currency),
            ("total", Money.decimal(invoice.totalMinor, currency: invoice.currency)), ("subscription_id", invoice.subscriptionId ?? ""),
            ("due_at", invoice.dueAt.rfc3339), ("paid_at", invoice.paidAt?.rfc3339 ?? ""),
        ]
    }

    static func grant(_ grant: CreditGrant) -> [(String, String)] {
        [
            ("tenant_id", grant.tenantId), ("grant_id", grant.id), ("category", grant.category), ("amount", String(grant.amount)), ("source", grant.source.rawValue),
            ("effective_at", grant.effectiveAt.rfc3339), ("expires_at", grant.expiresAt.rfc3339),
        ]
    }

    static func apiKey(_ key: ApiKey) -> [(String, String)] {
        [("tenant_id", key.tenantId ?? ""), ("api_key_id", key.id), ("name", key.name), ("key_prefix", key.keyPrefix), ("scopes", key.scopes)]
    }

    private static let alertExample: [(String, String)] = [
        ("tenant_id", "tnt_example"), ("category", "USAGE_AI_CREDIT"), ("threshold", "percent:80"), ("level", "2000"), ("available", "1990"), ("allowance", "10000"),
        ("window_start", "2026-12-01T00:00:00.000Z"),
    ]

    private static func subscriptionExample(_ status: String) -> [(String, String)] {
        [
            ("tenant_id", "tnt_example"), ("subscription_id", "sub_example"), ("plan", "PRO"), ("period", "MONTHLY"), ("status", status),
            ("start_at", "2026-12-01T00:00:00.000Z"), ("end_at", "2027-01-01T00:00:00.000Z"), ("cancel_at_period_end", "false"),
        ]
    }

    private static func invoiceExample(_ status: String) -> [(String, String)] {
        [
            ("tenant_id", "tnt_example"), ("invoice_id", "inv_example"), ("number", "42"), ("kind", "subscription"), ("status", status), ("plan", "PRO"),
            ("period", "MONTHLY"), ("currency", "USD"), ("total", "29.00"), ("subscription_id", ""), ("due_at", "2026-12-08T00:00:00.000Z"),
            ("paid_at", status == "paid" ? "2026-12-02T10:00:00.000Z" : ""),
        ]
    }

    private static let grantExample: [(String, String)] = [
        ("tenant_id", "tnt_example"), ("grant_id", "grt_example"), ("category", "USAGE_AI_CREDIT"), ("amount", "10000"), ("source", "plan"),
        ("effective_at", "2026-12-01T00:00:00.000Z"), ("expires_at", "2027-01-08T00:00:00.000Z"),
    ]

    private static let apiKeyExample: [(String, String)] = [
        ("tenant_id", "tnt_example"), ("api_key_id", "key_example"), ("name", "chat service"), ("key_prefix", "tnk_4f2a"), ("scopes", "[\"usage.read\",\"usage.write\"]"),
    ]
}
