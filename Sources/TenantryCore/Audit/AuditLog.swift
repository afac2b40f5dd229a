import Foundation
import GRDB

/// Who did what to what, and when, with the state before and after.
public struct AuditEntry: TenantryRecord {
    public static let databaseTableName = "audit"

    public var seq: Int64?
    public var at: Instant
    public var actorId: String?
    public var actorEmail: String
    public var action: String
    public var targetType: String
    public var targetId: String
    public var tenantId: String?
    public var before: String?
    public var after: String?
}

/// The caller of an audited action.
public struct AuditActor: Sendable {
    public let id: String?
    public let email: String

    public init(id: String?, email: String) {
        self.id = id
        self.email = email
    }

    public static let system = AuditActor(id: nil, email: "system")

    public init(_ principal: Principal) {
        self.init(id: principal.user.id, email: principal.user.email)
    }
}

enum AuditLog {
    /// Records an action inside the caller's write; `before`/`after` are encoded as JSON.
    static func record<B: Encodable, A: Encodable>(
        _ db: Database, actor: AuditActor, action: String, targetType: String, targetId: String, tenantId: String? = nil,
        before: B?, after: A?, at now: Instant
    ) throws {
        // Snapshots use the API's snake_case names; instants are milliseconds since the epoch.
        let encoder = JSONEncoder.sorted
        encoder.keyEncodingStrategy = .convertToSnakeCase
        func encode<T: Encodable>(_ value: T?) throws -> String? {
            try value.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        }
        try AuditEntry(
            seq: nil, at: now, actorId: actor.id, actorEmail: actor.email, action: action, targetType: targetType, targetId: targetId,
            tenantId: tenantId, before: try encode(before), after: try encode(after)
        ).insert(db)
    }

    struct Nothing: Encodable {}
    static let nothing: Nothing? = nil
}

extension AuditEntry {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let seq = Column("seq")
        public static let at = Column("at")
        public static let actorId = Column("actor_id")
        public static let actorEmail = Column("actor_email")
        public static let action = Column("action")
        public static let targetType = Column("target_type")
        public static let targetId = Column("target_id")
        public static let tenantId = Column("tenant_id")
        public static let before = Column("before")
        public static let after = Column("after")
    }
}
