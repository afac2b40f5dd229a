import Foundation
import GRDB

/// A tenant's key for its services (or an operator key, with no tenant). Only its SHA-256
/// is stored; the first characters stay visible to tell keys apart.
public struct ApiKey: TenantryRecord, Equatable {
    public static let databaseTableName = "api_key"
    public static let prefix = "tnk"
    /// What a tenant key may be allowed.
    public static let readScope = "usage.read"
    public static let writeScope = "usage.write"
    public static let tenantScopes = [readScope, writeScope]
    public static let operatorScope = "operator"

    public var id: String
    public var tenantId: String?
    public var name: String
    public var keyPrefix: String
    public var keyHash: Data
    public var scopes: String
    public var createdBy: String?
    public var createdAt: Instant
    public var expiresAt: Instant?
    public var lastUsedAt: Instant?
    public var revokedAt: Instant?

    /// The scopes, from their stored JSON array; a row that does not decode is an error, not "no scopes".
    public func scopeList() throws -> [String] {
        do { return try JSONDecoder().decode([String].self, from: Data(scopes.utf8)) } catch {
            throw DomainError.internalError("API key \(id) has unreadable scopes: \(error)")
        }
    }

    public func isActive(at now: Instant) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }

    /// Scopes are stored as a sorted JSON array of plain words, so a quoted match is exact.
    public func allows(_ scope: String) -> Bool { scopes.contains("\"\(scope)\"") }
}

extension ApiKey {
    /// Reads a row by column name: every metered request reads its key.
    public init(row: Row) {
        self.init(
            id: row["id"], tenantId: row["tenant_id"], name: row["name"], keyPrefix: row["key_prefix"], keyHash: row["key_hash"],
            scopes: row["scopes"], createdBy: row["created_by"], createdAt: row["created_at"], expiresAt: row["expires_at"],
            lastUsedAt: row["last_used_at"], revokedAt: row["revoked_at"]
        )
    }
}

/// An authenticated API key.
public struct KeyPrincipal: Sendable {
    public let key: ApiKey
    public let isStale: Bool

    public var isOperator: Bool { key.tenantId == nil && key.allows(ApiKey.operatorScope) }
}

/// Creating, listing, revoking and checking API keys.
public struct ApiKeyService: Sendable {
    let context: ServiceContext

    public init(context: ServiceContext) { self.context = context }

    private var database: AppDatabase { context.database }

    public struct Created: Sendable {
        public let key: ApiKey
        /// Shown once, never stored.
        public let plaintext: String
    }

    /// A key for the caller's current tenant, with some of `ApiKey.tenantScopes`.
    public func create(_ principal: Principal, name: String, scopes: [String], expiresAt: Instant?) async throws -> Created {
        let tenantId = try principal.tenant(atLeast: .admin)
        let scopes = scopes.isEmpty ? ["usage.write"] : scopes
        for scope in scopes where !ApiKey.tenantScopes.contains(scope) {
            throw DomainError.invalidArgument("scope \(scope) is not one of \(ApiKey.tenantScopes.joined(separator: ", "))")
        }
        return try await create(tenantId: tenantId, name: name, scopes: Array(Set(scopes)).sorted(), expiresAt: expiresAt, by: AuditActor(principal))
    }

    /// An operator key: it passes wherever an operator session does.
    public func createOperatorKey(name: String, by actor: AuditActor) async throws -> Created {
        try await create(tenantId: nil, name: name, scopes: [ApiKey.operatorScope], expiresAt: nil, by: actor)
    }

    private func create(tenantId: String?, name rawName: String, scopes: [String], expiresAt: Instant?, by actor: AuditActor) async throws -> Created {
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(name.count) else { throw DomainError.invalidArgument("name is required (at most 100 characters)") }
        let now = context.clock.now()
        if let expiresAt, expiresAt <= now { throw DomainError.invalidArgument("expires_at must be in the future") }
        let plaintext = Secrets.token(ApiKey.prefix)
        let key = ApiKey(
            id: Secrets.identifier("key"), tenantId: tenantId, name: name, keyPrefix: String(plaintext.prefix(12)),
            keyHash: Secrets.sha256(plaintext), scopes: String(decoding: try JSONEncoder.sorted.encode(scopes), as: UTF8.self),
            createdBy: actor.id, createdAt: now, expiresAt: expiresAt, lastUsedAt: nil, revokedAt: nil
        )
        try await database.write { db in
            try key.insert(db)
            try WebhookEvents.emit(db, "api_key.created", WebhookEvents.apiKey(key), at: now)
            try AuditLog.record(db, actor: actor, action: "api_key.create", targetType: "api_key", targetId: key.id, tenantId: tenantId, before: AuditLog.nothing, after: key.redacted, at: now)
        }
        return Created(key: key, plaintext: plaintext)
    }

    public func list(tenantId: String) throws -> [ApiKey] {
        try database.read { try ApiKey.filter(ApiKey.Columns.tenantId == tenantId).order(ApiKey.Columns.createdAt.desc).fetchAll($0) }
    }

    /// Revokes a key of `tenantId` (an operator may pass nil to revoke any key).
    public func revoke(id: String, tenantId: String?, by actor: AuditActor) async throws {
        let now = context.clock.now()
        try await database.write { db in
            guard var key = try ApiKey.fetchOne(db, key: id), tenantId == nil || key.tenantId == tenantId else {
                throw DomainError.notFound("no API key \(id)")
            }
            guard key.revokedAt == nil else { return }
            let before = key.redacted
            key.revokedAt = now
            try key.update(db)
            try WebhookEvents.emit(db, "api_key.revoked", WebhookEvents.apiKey(key), at: now)
            try AuditLog.record(db, actor: actor, action: "api_key.revoke", targetType: "api_key", targetId: id, tenantId: key.tenantId, before: before, after: key.redacted, at: now)
        }
    }

    /// The key behind a bearer credential, if it is active.
    public func authenticate(_ plaintext: String) throws -> KeyPrincipal {
        let now = context.clock.now()
        let hash = Secrets.sha256(plaintext)
        let found = try context.credentials.entry(\.keys, for: hash) {
            try database.read { db in try ApiKey.fetchOne(db.cachedStatement(sql: "SELECT * FROM api_key WHERE key_hash = ?"), arguments: [hash]) }
        }
        guard let found, found.value.isActive(at: now) else {
            throw DomainError.unauthenticated("invalid, expired or revoked API key")
        }
        let isStale = now.milliseconds - max(found.value.lastUsedAt?.milliseconds ?? 0, found.markedAt) > 60_000
        // The caller marks it (`touch`); until that commits, the cache remembers it was asked.
        if isStale { context.credentials.markUsed(\.keys, for: hash, at: now) }
        return KeyPrincipal(key: found.value, isStale: isStale)
    }

    /// Records that a key was used (coarsely: callers need not wait).
    public func touch(_ key: ApiKey) async throws {
        let now = context.clock.now()
        try await database.write { db in
            try db.execute(sql: "UPDATE api_key SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?", arguments: [now, key.id])
        }
    }
}

extension ApiKey {
    /// The key as the audit trail keeps it (no hash).
    var redacted: ApiKey {
        var copy = self
        copy.keyHash = Data(count: 32)
        return copy
    }
}

extension ApiKey {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let tenantId = Column("tenant_id")
        public static let name = Column("name")
        public static let keyPrefix = Column("key_prefix")
        public static let keyHash = Column("key_hash")
        public static let scopes = Column("scopes")
        public static let createdBy = Column("created_by")
        public static let createdAt = Column("created_at")
        public static let expiresAt = Column("expires_at")
        public static let lastUsedAt = Column("last_used_at")
        public static let revokedAt = Column("revoked_at")
    }
}
