import Foundation
import GRDB

/// A logged-in session. The bearer token itself is never stored, only its SHA-256.
public struct Session: TenantryRecord {
    public static let databaseTableName = "session"
    public static let tokenPrefix = "tns"

    public var id: String
    public var tokenHash: Data
    public var userId: String
    public var currentTenantId: String?
    public var clientAddress: String
    public var createdAt: Instant
    public var lastSeenAt: Instant
    public var expiresAt: Instant
    public var revokedAt: Instant?

    /// The end of the session: its absolute expiry, or sooner if left idle.
    func endsAt(idleSeconds: Int64) -> Instant {
        min(expiresAt, lastSeenAt.adding(seconds: idleSeconds))
    }
}

/// A session and the token that opens it (shown to the client once).
public struct IssuedSession: Sendable {
    public let token: String
    public let session: Session
}

extension Session {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let tokenHash = Column("token_hash")
        public static let userId = Column("user_id")
        public static let currentTenantId = Column("current_tenant_id")
        public static let clientAddress = Column("client_address")
        public static let createdAt = Column("created_at")
        public static let lastSeenAt = Column("last_seen_at")
        public static let expiresAt = Column("expires_at")
        public static let revokedAt = Column("revoked_at")
    }
}
