import Foundation
import GRDB

/// A one-time proof in flight: a registration or reset code bound to the token it was
/// issued with, or a reset token. Neither the code nor the token is stored.
struct Verification: TenantryRecord {
    enum Purpose: String, Codable, Sendable {
        case register
        /// A code emailed to reset a password.
        case resetCode = "reset_code"
        /// The token a correct reset code is exchanged for.
        case reset
    }

    static let databaseTableName = "verification"

    var id: String
    var purpose: Purpose
    var tokenHash: Data
    var email: String
    var userId: String?
    var codeHash: Data?
    var attempts: Int
    var createdAt: Instant
    var expiresAt: Instant
    var consumedAt: Instant?

    static func withToken(_ token: String, purpose: Purpose, _ db: Database) throws -> Verification? {
        try Verification.filter(Verification.Columns.tokenHash == Secrets.sha256(token) && Verification.Columns.purpose == purpose.rawValue).fetchOne(db)
    }
}

extension Verification {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let purpose = Column("purpose")
        public static let tokenHash = Column("token_hash")
        public static let email = Column("email")
        public static let userId = Column("user_id")
        public static let codeHash = Column("code_hash")
        public static let attempts = Column("attempts")
        public static let createdAt = Column("created_at")
        public static let expiresAt = Column("expires_at")
        public static let consumedAt = Column("consumed_at")
    }
}
