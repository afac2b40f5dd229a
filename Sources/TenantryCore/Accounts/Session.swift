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

import Foundation
