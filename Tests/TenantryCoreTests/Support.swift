import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import TenantryCore

/// A logger that drops everything, so that expected failures do not flood the test output.
let quietLogger = Logger(label: "tenantry.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Cheap argon2id parameters: the rules under test do not depend on the cost.
let cheapHashing = PasswordHasher.Parameters(memoryKiB: 64, iterations: 1, parallelism: 1)

/// A fresh path for a database file in the temporary directory.
func temporaryDatabasePath() -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("tenantry-core-\(UUID().uuidString).sqlite").path
}

/// Removes a database file and its WAL companions.
func removeDatabaseFiles(_ path: String) {
    for suffix in ["", "-wal", "-shm", ".partial"] {
        try? FileManager.default.removeItem(atPath: path + suffix)
    }
}

/// Opens a database in a fresh file, runs `body`, then closes and removes it.
@discardableResult
func withDatabase<T>(
    synchronous: AppDatabase.Synchronous = .full,
    _ body: (AppDatabase) async throws -> T
) async throws -> T {
    let path = temporaryDatabasePath()
    defer { removeDatabaseFiles(path) }
    let database = try AppDatabase(path: path, synchronous: synchronous, logger: quietLogger)
    do {
        let result = try await body(database)
        try? database.close()
        return result
    } catch {
        try? database.close()
        throw error
    }
}

/// Settings for service tests: cheap hashing, a small pool, and a mail limit per client high
/// enough for tests that register many users from one "client".
func testSettings(_ adjust: (inout Settings) -> Void = { _ in }) -> Settings {
    var settings = Settings()
    settings.passwordHashing = cheapHashing
    settings.hashingWorkers = 2
    settings.emailsPerClientPerHour = 10_000
    settings.publicURL = "https://tenantry.test"
    adjust(&settings)
    return settings
}

/// A `Tenantry` over its own temporary database, with a manual clock.
final class Harness: Sendable {
    let tenantry: Tenantry
    let clock: ManualClock
    let path: String

    init(_ adjust: (inout Settings) -> Void = { _ in }) throws {
        path = temporaryDatabasePath()
        clock = ManualClock(Instant(milliseconds: 1_800_000_000_000))
        let database = try AppDatabase(path: path, logger: quietLogger)
        tenantry = try Tenantry(database: database, clock: clock, settings: testSettings(adjust), logger: quietLogger)
    }

    deinit {
        try? tenantry.close()
        removeDatabaseFiles(path)
    }

    var accounts: AccountService { tenantry.accounts }
    var tenants: TenantService { tenantry.tenants }
    var database: AppDatabase { tenantry.database }
    var settings: Settings { tenantry.settings }

    /// The rendered bodies of the emails sent to `email`, newest first.
    func mails(to email: String) throws -> [(email: OutboxEmail, body: String)] {
        try tenantry.outbox(recipient: email)
    }

    /// The 6-digit code in the newest email to `email`.
    func latestCode(to email: String) throws -> String {
        let body = try #require(try mails(to: email).first?.body)
        return try #require(sixDigitCode(in: body), "no 6-digit code in: \(body)")
    }

    /// A code that is certainly not `code`.
    static func wrongCode(for code: String) -> String {
        code == "000000" ? "111111" : "000000"
    }

    /// Registers `email` and verifies the code: an UNINITIALIZED user who owns a new tenant.
    func registerVerified(_ email: String, client: String = "10.0.0.1") async throws -> String {
        let registration = try await accounts.register(email: email, client: client)
        let code = try latestCode(to: email)
        let verified = try await accounts.verifyRegistration(
            email: email, code: code, token: registration.token, fromLink: "", country: "", client: client
        )
        return verified.token
    }

    /// Registers, verifies and sets a password: an ACTIVE user; answers a session token.
    func activeUser(_ email: String, password: String = "correct horse", client: String = "10.0.0.1") async throws -> String {
        let first = try await registerVerified(email, client: client)
        return try await accounts.initialize(try accounts.authenticate(token: first), password: password, timezone: "", client: client)
    }

    func principal(_ token: String) throws -> Principal {
        try accounts.authenticate(token: token)
    }

    func user(_ email: String) throws -> User? {
        try database.read { try User.withEmail(email, $0) }
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try database.read { try Int.fetchOne($0, sql: sql, arguments: arguments) ?? -1 }
    }

    /// The invite token at the end of an invite URL.
    static func inviteToken(from url: String) throws -> String {
        let range = try #require(url.range(of: "token="))
        return String(url[range.upperBound...])
    }
}

/// The first run of exactly six digits in `text`.
func sixDigitCode(in text: String) -> String? {
    let characters = Array(text)
    var index = 0
    while index < characters.count {
        if characters[index].isASCII, characters[index].isNumber {
            var end = index
            while end < characters.count, characters[end].isASCII, characters[end].isNumber { end += 1 }
            if end - index == 6 { return String(characters[index..<end]) }
            index = end
        } else {
            index += 1
        }
    }
    return nil
}

/// Asserts that `body` throws a `DomainError` of the same case as `expected` (messages are
/// not compared unless `exactMessage` is set).
@discardableResult
func expectDomainError<T>(
    _ expected: DomainError, exactMessage: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> DomainError? {
    do {
        let value = try await body()
        Issue.record("expected \(expected), got a result: \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as DomainError {
        if exactMessage {
            #expect(error == expected, sourceLocation: sourceLocation)
        } else {
            #expect(error.statusName == expected.statusName, "got \(error)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A counter that concurrent tasks can share.
final class Counter: Sendable {
    private let atomic = Atomic<Int>(0)

    init() {}

    @discardableResult
    func increment() -> Int { atomic.add(1, ordering: .relaxed).newValue }

    var value: Int { atomic.load(ordering: .relaxed) }
}

/// A value that concurrent tasks can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout sending Value) -> sending T) -> T { mutex.withLock(body) }

    var value: Value { mutex.withLock { $0 } }
}

/// A task executor with one dedicated thread (a serial dispatch queue), for the few steps
/// that must not wait for a free thread of the shared cooperative pool.
final class SerialThreadExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = SerialThreadExecutor()

    private let queue = DispatchQueue(label: "tenantry.tests.serial-executor")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

extension AccountService {
    /// A password login that must open a session (no second factor asked for).
    func sessionLogin(email: String, password: String, client: String) async throws -> String {
        guard case .session(let token) = try await login(email: email, password: password, client: client) else {
            throw DomainError.failedPrecondition("the login asked for a second factor")
        }
        return token
    }
}
