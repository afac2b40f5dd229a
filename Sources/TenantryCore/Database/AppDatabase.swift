import CSQLiteConfig
import Foundation
import GRDB
import Logging

/// The one SQLite file: a WAL-mode `DatabasePool` for concurrent reads, and the group
/// committing writer that owns every write.
public final class AppDatabase: Sendable {
    public enum Synchronous: String, Sendable, CaseIterable {
        case full, normal

        var pragmaValue: Int { self == .full ? 2 : 1 }
    }

    /// Kept inside Core: the rest of the product reads and writes through the methods below.
    let pool: DatabasePool
    public let writer: GroupWriter
    public let reports: ReportReader
    public let path: String

    /// Opens (creating if needed) the database at `path`, migrates it when `migrate` is
    /// true, and checks that the writer connection really uses `synchronous`.
    public init(path: String, synchronous: Synchronous = .full, migrate: Bool = true, logger: Logger = Logger(label: "tenantry.db")) throws {
        self.path = path
        Self.tuneSQLite
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = max(4, ProcessInfo.processInfo.activeProcessorCount * 2)
        configuration.prepareDatabase { db in
            // Keep the WAL from growing without bound between checkpoints.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB switches WAL connections to synchronous=NORMAL after prepareDatabase runs;
        // set the configured level back on the writer connection and prove it took.
        let level = try pool.writeWithoutTransaction { db -> Int in
            // A group commit dirties many pages; past the cache SQLite writes them to the WAL
            // before the commit (a "spill"), and again when the same page changes once more.
            try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.pragmaValue)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard level == synchronous.pragmaValue else {
            throw DomainError.internalError("PRAGMA synchronous is \(level), expected \(synchronous.pragmaValue) (\(synchronous.rawValue))")
        }
        if migrate {
            try Migrations.migrator.migrate(pool)
        }
        writer = GroupWriter(pool: pool, logger: logger)
        reports = ReportReader(pool: pool, threads: 2)
    }

    /// The writer connection's page cache: what one group commit may dirty without spilling.
    static let writerCacheKiB = 32 * 1024

    /// Process-wide SQLite settings, applied once before the first connection opens.
    private static let tuneSQLite: Void = {
        _ = tenantry_sqlite_disable_memory_statistics()
    }()

    /// A short read on the calling thread (reads never wait for the writer).
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// A read that may take more than a few milliseconds, on the report threads.
    public func report<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await reports.read(body)
    }

    /// Queues a write and waits for the group commit that includes it.
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.write(work)
    }

    /// Queues a write; `answer` runs on the writer's thread after its commit (see `GroupWriter.submit`).
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T, then answer: @escaping @Sendable (Result<T, any Error>) -> Void) {
        writer.submit(work, then: answer)
    }

    /// Tells `observer` of every transaction of the writer, for as long as the database is open.
    func observeCommits(_ observer: some TransactionObserver) {
        pool.add(transactionObserver: observer, extent: .databaseLifetime)
    }

    /// Throws unless the database answers a read.
    public func probe() throws {
        _ = try pool.read { try Int.fetchOne($0, sql: "SELECT 1") }
    }

    /// Copies the WAL back into the database where no reader needs it; answers the pages moved.
    func checkpoint() throws -> Int {
        try pool.writeWithoutTransaction { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")?[2] ?? 0 }
    }

    /// The synchronous level of the writer connection, as SQLite reports it.
    public func synchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    public var hasPendingMigrations: Bool {
        get throws { try pool.read { try !Migrations.migrator.hasCompletedMigrations($0) } }
    }

    /// Writes a consistent copy of the live database to `destination`, safe while serving:
    /// SQLite's online backup copies the pages of one read snapshot (a WAL reader never
    /// blocks the writer) into a `.partial` file, which `quick_check` reads through before it
    /// is renamed. A page copy runs at the disk's speed, where `VACUUM INTO` rebuilt every
    /// table and index (6 GB took 230 s, against 17 s to copy it).
    public func backup(to destination: String) throws {
        let target = URL(fileURLWithPath: destination).standardizedFileURL
        guard !FileManager.default.fileExists(atPath: target.path) else {
            throw DomainError.alreadyExists("\(target.path) already exists")
        }
        let partial = target.path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            let copy = try DatabaseQueue(path: partial)
            try pool.backup(to: copy)
            let verdict = try copy.read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
            try copy.close()
            guard verdict == ["ok"] else {
                throw DomainError.internalError("backup failed its integrity check: \(verdict.joined(separator: "; "))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        try FileManager.default.moveItem(atPath: partial, toPath: target.path)
    }

    /// Runs SQLite's own checks (`quick_check`: every page and row well formed; with `full`,
    /// `integrity_check`, which also proves each index against its table) and the foreign
    /// key check, then checks that every credit balance equals its ledger; returns the
    /// problems found.
    public func integrityProblems(full: Bool = false) throws -> [String] {
        let problems = try sqliteProblems(full: full)
        guard problems.isEmpty, try !hasPendingMigrations else { return problems }
        return try pool.read { try Ledger.inconsistencies($0) }
    }

    private func sqliteProblems(full: Bool) throws -> [String] {
        try pool.read { db in
            var problems = try String.fetchAll(db, sql: full ? "PRAGMA integrity_check" : "PRAGMA quick_check").filter { $0 != "ok" }
            let orphans = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            problems += orphans.map { "foreign key violation in \($0[0] as String? ?? "?") row \($0[1] as Int64? ?? 0) → \($0[2] as String? ?? "?")" }
            return problems
        }
    }

    public func close() throws {
        reports.stop()
        writer.stop()
        try pool.close()
    }
}
