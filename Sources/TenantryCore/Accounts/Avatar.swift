import Foundation
import GRDB

/// A user's picture, kept in the database so that a backup holds everything.
public struct Avatar: TenantryRecord {
    public static let databaseTableName = "avatar"
    public static let maximumBytes = 1 << 20

    public var id: String
    public var userId: String
    public var contentType: String
    public var data: Data
    public var createdAt: Instant

    /// The image type from the file's own first bytes; the declared type is not trusted.
    static func sniffContentType(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "image/webp" }
        return nil
    }
}

extension Avatar {
    /// The table's columns, for the query interface.
    public enum Columns {
        public static let id = Column("id")
        public static let userId = Column("user_id")
        public static let contentType = Column("content_type")
        public static let data = Column("data")
        public static let createdAt = Column("created_at")
    }
}
