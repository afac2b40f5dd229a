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
    /// When a queued email is next tried; nil once it is sent or failed.
    public var nextAttemptAt: Instant?
}

/// A subject and a plain-text body; `Mailer.secretPlaceholder` marks where a secret goes.
public struct Email: Sendable {
    public let subject: String
    public let body: String
}

extension OutboxEmail {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let recipient = Column("recipient")
        public static let subject = Column("subject")
        public static let body = Column("body")
        public static let status = Column("status")
        public static let attempts = Column("attempts")
        public static let createdAt = Column("created_at")
        public static let sentAt = Column("sent_at")
        public static let lastError = Column("last_error")
        public static let nextAttemptAt = Column("next_attempt_at")
        public static let rowid = Column("rowid")
    }
}
