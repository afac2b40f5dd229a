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
        try Verification.filter(Column("token_hash") == Secrets.sha256(token) && Column("purpose") == purpose.rawValue).fetchOne(db)
    }
}
