import GRDB

/// One email in the outbox.
public struct OutboxEmail: TenantryRecord {
    public enum Status: String, Codable, Sendable, CaseIterable { case queued, sent, failed }

    public static let databaseTableName = "outbox"

    public var id: String
    public var recipient: String
    public var subject: String
    public var body: String
    public var status: Status
    public var attempts: Int
    public var createdAt: Instant
    public var sentAt: Instant?
    public var lastError: String?
}

/// A subject and a plain-text body; `Mailer.secretPlaceholder` marks where a secret goes.
public struct Email: Sendable {
    public let subject: String
    public let body: String
}
