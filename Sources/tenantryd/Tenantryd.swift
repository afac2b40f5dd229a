import ArgumentParser
import Foundation
import Logging
import TenantryAPI
import TenantryCore

@main
struct Tenantryd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenantryd",
        abstract: "Accounts, tenants, subscriptions and credits for a small AI SaaS.",
        discussion: "Every flag can also be set as TENANTRY_<FLAG> in the environment (for example TENANTRY_DB).",
        version: TenantryVersion.current,
        subcommands: [Serve.self, Migrate.self, Admin.self, Backup.self, Check.self, Version.self]
    )
}

/// Options every subcommand that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file (TENANTRY_DB).")
    var db: String = Environment.string("db", "data/tenantry.sqlite")

    @Option(name: .long, help: "SQLite synchronous level of the writer: full or normal (TENANTRY_SYNCHRONOUS).")
    var synchronous: String = Environment.string("synchronous", "full")

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (TENANTRY_LOG_LEVEL).")
    var logLevel: String = Environment.string("log-level", "info")

    func validate() throws {
        guard AppDatabase.Synchronous(rawValue: synchronous.lowercased()) != nil else {
            throw ValidationError("--synchronous must be full or normal")
        }
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func logger(_ label: String = "tenantry") -> Logger {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingBootstrap.once(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    /// Opens the database; `create` says whether a missing file may be created.
    func open(create: Bool, migrate: Bool = true, logger: Logger) throws -> AppDatabase {
        guard create || FileManager.default.fileExists(atPath: db) else {
            throw ValidationError("no database at \(db) (run `tenantryd migrate --db \(db)` to create one)")
        }
        return try AppDatabase(path: db, synchronous: AppDatabase.Synchronous(rawValue: synchronous.lowercased()) ?? .full, migrate: migrate, logger: logger)
    }
}

/// swift-log may be bootstrapped once per process.
enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    private static let lock = NSLock()

    static func once(level: Logger.Level) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Prints the version.")

    func run() {
        print("tenantryd \(TenantryVersion.current)")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Creates or upgrades the database schema, then exits.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let db = try database.open(create: true, logger: database.logger())
        try db.close()
        print("database \(database.db) is up to date")
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Writes a consistent copy of the database, safe while the daemon serves.")

    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: "The file to write; it must not exist yet.")
    var to: String

    func run() async throws {
        let db = try database.open(create: false, migrate: false, logger: database.logger())
        defer { try? db.close() }
        try db.backup(to: to)
        let size = (try? FileManager.default.attributesOfItem(atPath: to)[.size] as? Int) ?? 0
        print("backup of \(database.db) written to \(to) (\(size) bytes, quick_check ok)")
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Checks the database's integrity; exits 1 if anything is wrong.")

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Also prove that every index matches its table (PRAGMA integrity_check): minutes on a large database.")
    var full = false

    func run() async throws {
        let db = try database.open(create: false, migrate: false, logger: database.logger())
        defer { try? db.close() }
        var problems = try db.integrityProblems(full: full)
        if try db.hasPendingMigrations { problems.append("the schema is not up to date: run `tenantryd migrate`") }
        if problems.isEmpty {
            print("ok: integrity, foreign keys and every credit balance against its ledger check out in \(database.db)")
        } else {
            for problem in problems { print("problem: \(problem)") }
            throw ExitCode(1)
        }
    }
}
