import Foundation
import GRDB
import Testing

@testable import TenantryCore

@Suite("AppDatabase")
struct AppDatabaseTests {
    @Test(
        "the writer connection runs with the configured synchronous level",
        arguments: [
            (AppDatabase.Synchronous.full, 2),
            (.normal, 1),
        ])
    func synchronousLevel(level: AppDatabase.Synchronous, expected: Int) async throws {
        try await withDatabase(synchronous: level) { database async throws in
            #expect(try database.synchronousLevel() == expected)
            // Still so after writes went through the group writer.
            try await database.write { try $0.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('t', 'T', 0, 0)") }
            #expect(try database.synchronousLevel() == expected)
        }
    }

    @Test("WAL journal, foreign keys on, migrations applied")
    func pragmasAndMigrations() async throws {
        try await withDatabase { database async throws in
            #expect(try database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
            #expect(try database.read { try Int.fetchOne($0, sql: "PRAGMA foreign_keys") } == 1)
            #expect(try await database.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA foreign_keys") } == 1)
            #expect(try database.read { try Int.fetchOne($0, sql: "PRAGMA journal_size_limit") } == 67_108_864)
            #expect(try database.hasPendingMigrations == false)
            let tables = try database.read { try String.fetchSet($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
            for table in ["user", "tenant", "membership", "session", "verification", "invite", "avatar", "outbox", "job_state"] {
                #expect(tables.contains(table), "missing table \(table)")
            }
            let applied = try database.read { try Migrations.migrator.appliedIdentifiers($0) }
            #expect(applied.contains("v1_accounts_and_tenants"))
        }
    }

    @Test("a database opened without migrating reports pending migrations")
    func pendingMigrations() throws {
        let path = temporaryDatabasePath()
        defer { removeDatabaseFiles(path) }
        let database = try AppDatabase(path: path, migrate: false, logger: quietLogger)
        #expect(try database.hasPendingMigrations == true)
        try database.close()
        let migrated = try AppDatabase(path: path, logger: quietLogger)
        #expect(try migrated.hasPendingMigrations == false)
        try migrated.close()
    }

    @Test("creates missing parent folders")
    func createsFolders() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tenantry-core-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("nested/deeper/db.sqlite").path
        let database = try AppDatabase(path: path, logger: quietLogger)
        #expect(FileManager.default.fileExists(atPath: path))
        try database.close()
    }

    @Test("data survives closing and reopening")
    func reopens() async throws {
        let path = temporaryDatabasePath()
        defer { removeDatabaseFiles(path) }
        let first = try AppDatabase(path: path, logger: quietLogger)
        try await first.write { try $0.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('kept', 'Kept', 1, 1)") }
        try first.close()
        let second = try AppDatabase(path: path, logger: quietLogger)
        #expect(try second.read { try String.fetchOne($0, sql: "SELECT name FROM tenant WHERE id = 'kept'") } == "Kept")
        #expect(try second.hasPendingMigrations == false)
        try second.close()
    }

    @Test(
        "the schema refuses rows that break its rules",
        arguments: [
            // Upper-case email.
            "INSERT INTO user (id, email, status, created_at, updated_at) VALUES ('u', 'Bob@Example.com', 'UNINITIALIZED', 0, 0)",
            // Unknown status.
            "INSERT INTO user (id, email, status, created_at, updated_at) VALUES ('u', 'bob@example.com', 'FOO', 0, 0)",
            // An active user needs a password hash.
            "INSERT INTO user (id, email, status, created_at, updated_at) VALUES ('u', 'bob@example.com', 'ACTIVE', 0, 0)",
            // A password hash must be a PHC argon2id string.
            "INSERT INTO user (id, email, password_hash, status, created_at, updated_at) VALUES ('u', 'bob@example.com', 'plaintext', 'ACTIVE', 0, 0)",
            // Email too short.
            "INSERT INTO user (id, email, status, created_at, updated_at) VALUES ('u', 'a@', 'UNINITIALIZED', 0, 0)",
            // STRICT: text in an INTEGER column.
            "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('t', 'T', 'yesterday', 0)",
            // Empty tenant name.
            "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('t', '', 0, 0)",
            // Foreign key: membership of a tenant that does not exist.
            "INSERT INTO membership (tenant_id, user_id, role, joined_at) VALUES ('nope', 'nobody', 'owner', 0)",
            // Unknown outbox status.
            "INSERT INTO outbox (id, recipient, subject, body, status, created_at) VALUES ('e', 'a@b.c', 's', 'b', 'lost', 0)",
            // A token hash must be 32 bytes.
            "INSERT INTO verification (id, purpose, token_hash, email, code_hash, created_at, expires_at) VALUES ('v', 'register', X'00', 'a@b.c', zeroblob(32), 0, 1)",
            // A reset token has no code; a code verification must have one.
            "INSERT INTO verification (id, purpose, token_hash, email, created_at, expires_at) VALUES ('v', 'register', zeroblob(32), 'a@b.c', 0, 1)",
            // Expiry must come after creation.
            "INSERT INTO verification (id, purpose, token_hash, email, created_at, expires_at) VALUES ('v', 'reset', zeroblob(32), 'a@b.c', 5, 5)",
        ])
    func schemaRefusesBadRows(sql: String) async throws {
        try await withDatabase { database async throws in
            // The writer turns a broken constraint into the caller's error, never a 500.
            await #expect(throws: DomainError.self) {
                try await database.write { try $0.execute(sql: sql) }
            }
        }
    }

    @Test("the schema accepts well-formed rows")
    func schemaAcceptsGoodRows() async throws {
        try await withDatabase { database async throws in
            try await database.write { db in
                try db.execute(sql: "INSERT INTO user (id, email, status, created_at, updated_at) VALUES ('u', 'bob@example.com', 'UNINITIALIZED', 0, 0)")
                try db.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('t', 'T', 0, 0)")
                try db.execute(sql: "INSERT INTO membership (tenant_id, user_id, role, joined_at) VALUES ('t', 'u', 'owner', 0)")
            }
            #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM membership") } == 1)
            // Deleting the tenant cascades to its memberships.
            try await database.write { try $0.execute(sql: "DELETE FROM tenant WHERE id = 't'") }
            #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM membership") } == 0)
            #expect(try database.integrityProblems().isEmpty)
        }
    }

    @Test("a healthy database has no integrity problems")
    func integrity() async throws {
        try await withDatabase { database async throws in
            let problems = try database.integrityProblems()
            #expect(problems == [])
        }
    }

    @Test("integrity checks report orphaned rows")
    func integrityFindsOrphans() async throws {
        try await withDatabase { database async throws in
            try await database.pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                try db.execute(sql: "INSERT INTO membership (tenant_id, user_id, role, joined_at) VALUES ('ghost', 'nobody', 'member', 0)")
                try db.execute(sql: "PRAGMA foreign_keys = ON")
            }
            let problems = try database.integrityProblems()
            #expect(!problems.isEmpty)
            #expect(problems.allSatisfy { $0.contains("foreign key violation in membership") })
        }
    }

    @Test("backup writes a copy that opens with the same rows")
    func backup() async throws {
        try await withDatabase { database async throws in
            try await database.write { db in
                for index in 0..<25 {
                    try db.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", arguments: ["t\(index)", "Tenant \(index)", index, index])
                }
            }
            let destination = temporaryDatabasePath()
            defer { removeDatabaseFiles(destination) }
            try database.backup(to: destination)
            #expect(FileManager.default.fileExists(atPath: destination))
            #expect(!FileManager.default.fileExists(atPath: destination + ".partial"))
            let copy = try DatabaseQueue(path: destination)
            let names = try await copy.read { try String.fetchAll($0, sql: "SELECT name FROM tenant ORDER BY created_at") }
            #expect(names == (0..<25).map { "Tenant \($0)" })
            #expect(try await copy.read { try Migrations.migrator.hasCompletedMigrations($0) })
            try copy.close()
        }
    }

    @Test("backup refuses to overwrite an existing file")
    func backupRefusesExisting() async throws {
        try await withDatabase { database async throws in
            let destination = temporaryDatabasePath()
            defer { removeDatabaseFiles(destination) }
            try Data("precious".utf8).write(to: URL(fileURLWithPath: destination))
            await expectDomainError(.alreadyExists("")) { try database.backup(to: destination) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: destination)) == Data("precious".utf8))
        }
    }

    @Test("a closed database refuses writes")
    func closedRefusesWrites() async throws {
        let path = temporaryDatabasePath()
        defer { removeDatabaseFiles(path) }
        let database = try AppDatabase(path: path, logger: quietLogger)
        database.writer.stop()
        await expectDomainError(.internalError("")) {
            try await database.write { try $0.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('t', 'T', 0, 0)") }
        }
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM tenant") } == 0)
        try database.close()
    }
}
