import Foundation
import GRDB

/// An operator's webhook endpoint (seed 004's OutgoingWebhook). Its signing secret is kept
/// as it is, since signing needs it; an API answer shows it only when it is made.
public struct Webhook: TenantryRecord, Equatable {
    public static let databaseTableName = "webhook"

    public var id: String
    public var name: String
    public var url: String
    public var secret: String
    /// The secret before the last rotation: it keeps signing until it expires.
    public var previousSecret: String?
    public var previousSecretExpiresAt: Instant?
    /// The event types it receives, as a JSON column.
    public var events: [String]
    public var isActive: Bool
    public var consecutiveFailures: Int
    /// When the current run of failures began; nil while deliveries succeed.
    public var failingSince: Instant?
    public var createdBy: String
    public var createdAt: Instant
    public var updatedAt: Instant
    public var lastTriggeredAt: Instant?
    public var lastSuccessAt: Instant?

    /// The secrets that sign a delivery at `now`: the current one, and the previous one
    /// for 24 hours after a rotation.
    func signingSecrets(at now: Instant) -> [String] {
        guard let previousSecret, let expires = previousSecretExpiresAt, expires > now else { return [secret] }
        return [secret, previousSecret]
    }

    /// A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
    static func newSecret() -> String {
        "whsec_" + Data(Secrets.randomBytes(32)).base64EncodedString()
    }
}

/// One event sent to one endpoint (seed 004's WebhookDelivery), retried until delivered,
/// given up or redelivered by hand. Every attempt is kept in `webhook_attempt`.
public struct WebhookDelivery: TenantryRecord, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case pending, delivered, failed }

    public static let databaseTableName = "webhook_delivery"

    public var id: String
    public var webhookId: String
    /// The `webhook-id` header: the same on every attempt, so a receiver can drop repeats.
    public var messageId: String
    public var eventType: String
    public var payload: String
    public var status: Status
    public var attempt: Int
    public var createdAt: Instant
    public var httpStatus: Int?
    public var responseBody: String?
    public var errorMessage: String?
    public var nextRetryAt: Instant?
    public var completedAt: Instant?
}

/// One attempt of a delivery, as the log shows it.
public struct WebhookAttempt: TenantryRecord, Equatable {
    public static let databaseTableName = "webhook_attempt"

    public var deliveryId: String
    public var attempt: Int
    public var attemptedAt: Instant
    public var httpStatus: Int?
    public var responseBody: String?
    public var errorMessage: String?
    public var nextRetryAt: Instant?
}

extension Webhook {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let name = Column("name")
        public static let url = Column("url")
        public static let secret = Column("secret")
        public static let previousSecret = Column("previous_secret")
        public static let previousSecretExpiresAt = Column("previous_secret_expires_at")
        public static let events = Column("events")
        public static let isActive = Column("is_active")
        public static let consecutiveFailures = Column("consecutive_failures")
        public static let failingSince = Column("failing_since")
        public static let createdBy = Column("created_by")
        public static let createdAt = Column("created_at")
        public static let updatedAt = Column("updated_at")
        public static let lastTriggeredAt = Column("last_triggered_at")
        public static let lastSuccessAt = Column("last_success_at")
    }
}

extension WebhookDelivery {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let webhookId = Column("webhook_id")
        public static let messageId = Column("message_id")
        public static let eventType = Column("event_type")
        public static let payload = Column("payload")
        public static let status = Column("status")
        public static let attempt = Column("attempt")
        public static let createdAt = Column("created_at")
        public static let httpStatus = Column("http_status")
        public static let responseBody = Column("response_body")
        public static let errorMessage = Column("error_message")
        public static let nextRetryAt = Column("next_retry_at")
        public static let completedAt = Column("completed_at")
    }
}

extension WebhookAttempt {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let deliveryId = Column("delivery_id")
        public static let attempt = Column("attempt")
        public static let attemptedAt = Column("attempted_at")
        public static let httpStatus = Column("http_status")
        public static let responseBody = Column("response_body")
        public static let errorMessage = Column("error_message")
        public static let nextRetryAt = Column("next_retry_at")
    }
}
