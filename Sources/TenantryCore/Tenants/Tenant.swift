import Foundation
import GRDB

/// A workspace: the unit that holds members, a subscription and credits.
public struct Tenant: TenantryRecord, Equatable {
    public static let databaseTableName = "tenant"

    public var id: String
    public var name: String
    public var createdAt: Instant
    public var updatedAt: Instant
}

/// A member's role in a tenant, from most to least powerful.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case owner, admin, member

    var rank: Int {
        switch self {
        case .owner: 3
        case .admin: 2
        case .member: 1
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    static func parse(_ text: String, field: String = "role") throws -> Role {
        guard let role = Role(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw DomainError.invalidArgument("\(field) must be one of owner, admin, member")
        }
        return role
    }
}

/// A user's membership in a tenant.
public struct Membership: TenantryRecord {
    public static let databaseTableName = "membership"

    public var tenantId: String
    public var userId: String
    public var role: Role
    public var joinedAt: Instant
}

/// An invitation to join a tenant, redeemed once through the emailed link's token.
struct Invite: TenantryRecord {
    static let databaseTableName = "invite"
    static let tokenPrefix = "tni"

    var id: String
    var tenantId: String
    var email: String
    var role: Role
    var tokenHash: Data
    var invitedBy: String?
    var createdAt: Instant
    var expiresAt: Instant
    var acceptedAt: Instant?
    var revokedAt: Instant?
}

extension Membership {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let tenantId = Column("tenant_id")
        public static let userId = Column("user_id")
        public static let role = Column("role")
        public static let joinedAt = Column("joined_at")
    }
}

extension Invite {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let tenantId = Column("tenant_id")
        public static let email = Column("email")
        public static let role = Column("role")
        public static let tokenHash = Column("token_hash")
        public static let invitedBy = Column("invited_by")
        public static let createdAt = Column("created_at")
        public static let expiresAt = Column("expires_at")
        public static let acceptedAt = Column("accepted_at")
        public static let revokedAt = Column("revoked_at")
    }
}
