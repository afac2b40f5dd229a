import Foundation
import GRDB

/// A person who can log in.
public struct User: TenantryRecord, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Created by a verified registration, no password yet.
        case uninitialized = "UNINITIALIZED"
        case active = "ACTIVE"
        /// Turned off by an operator: cannot log in, sessions stop working.
        case disabled = "DISABLED"
    }

    public static let databaseTableName = "user"

    public var id: String
    public var email: String
    public var name: String
    public var passwordHash: String?
    public var status: Status
    public var isOperator: Bool
    public var avatarId: String?
    public var timezone: String
    public var country: String
    public var fromLink: String
    public var createdAt: Instant
    public var updatedAt: Instant

    static func new(email: String, name: String, status: Status, passwordHash: String?, now: Instant) -> User {
        User(
            id: Secrets.identifier("usr"), email: email, name: name, passwordHash: passwordHash, status: status,
            isOperator: false, avatarId: nil, timezone: "", country: "", fromLink: "", createdAt: now, updatedAt: now
        )
    }

    static func withEmail(_ email: String, _ db: Database) throws -> User? {
        try User.filter(User.Columns.email == email).fetchOne(db)
    }
}

extension User {
    /// Reads the columns of a `user` row by name (faster than Codable on the hot path).
    init(databaseRow row: Row) {
        id = row["id"]
        email = row["email"]
        name = row["name"]
        passwordHash = row["password_hash"]
        status = Status(rawValue: row["status"]) ?? .disabled
        isOperator = row["is_operator"]
        avatarId = row["avatar_id"]
        timezone = row["timezone"]
        country = row["country"]
        fromLink = row["from_link"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }
}

/// Email addresses as Tenantry keeps them: trimmed, lower-cased, plausibly deliverable.
public enum EmailAddress {
    public static func normalize(_ raw: String, field: String = "email") throws -> String {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !email.isEmpty else { throw DomainError.invalidArgument("\(field) is required") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64,
            parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains(".."),
            !email.contains(where: { $0.isWhitespace || $0.isNewline || "<>()[],;:\\\"".contains($0) })
        else { throw DomainError.invalidArgument("\(field) is not a valid email address") }
        return email
    }

    /// A display name from an address's local part, for users who have not set one.
    static func defaultName(_ email: String) -> String {
        String(email.split(separator: "@").first ?? "").prefix(100).description
    }
}

extension User {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let email = Column("email")
        public static let name = Column("name")
        public static let passwordHash = Column("password_hash")
        public static let status = Column("status")
        public static let isOperator = Column("is_operator")
        public static let avatarId = Column("avatar_id")
        public static let timezone = Column("timezone")
        public static let country = Column("country")
        public static let fromLink = Column("from_link")
        public static let createdAt = Column("created_at")
        public static let updatedAt = Column("updated_at")
    }
}
