import GRDB

/// Tenantry's records: snake_case columns for camelCase properties.
public protocol TenantryRecord: Codable, Sendable, FetchableRecord, PersistableRecord {}

extension TenantryRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}
