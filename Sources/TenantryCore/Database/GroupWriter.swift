import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization

/// The single writer. Whatever writes are queued while it commits go into the next
/// transaction together, each in its own savepoint so one failure does not sink the rest;
/// every caller is answered only after the commit that holds its write. It commits on a
/// thread of its own: fsync must not hold a thread of Swift's executor (on Linux, GCD's
/// global queues and the executor share threads as many as the cores).
public final class GroupWriter: Sendable {
    /// The most writes one transaction takes, to bound the wait of the last one.
    public static let maximumBatch = 512

    private struct Item: Sendable {
        /// Runs the write in its savepoint, and returns how to answer its caller after commit;
        /// throws when the batch can no longer commit safely.
        let run: @Sendable (Database) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Item] = []
        var draining = false
        var stopped = false
        var commits = 0
        var writes = 0
        var largestBatch = 0
        var failedCommits = 0
        /// The storage failure of the newest commit; a commit that succeeds clears it.
        var failure: DomainError?
        var lastFailureLogged: ContinuousClock.Instant?
    }

    public struct Statistics: Sendable {
        public let commits: Int
        public let writes: Int
        public let largestBatch: Int
        /// Commits (and writes inside them) that the storage refused: disk full, I/O errors.
        public let failedCommits: Int
    }

    /// Why writes fail now (the disk is full, the file is read-only), or nil when the newest
    /// commit succeeded. The scheduler's job writes retry it every minute.
    public var storageFailure: DomainError? { state.withLock { $0.failure } }

    private let pool: DatabasePool
    private let logger: Logger
    private let state = Mutex(State())
    private let thread = WorkerThreads(name: "tenantry-writer", count: 1)

    init(pool: DatabasePool, logger: Logger) {
        self.pool = pool
        self.logger = logger
        thread.start { [self] in commitNextBatch() }
    }

    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit(work) { continuation.resume(with: $0) }
        }
    }

    /// Queues a write as `write` does, and calls `answer` on the writer's thread once the
    /// commit that holds it is done (or the write failed): a caller that answers from there
    /// saves a hop through the task pool. `answer` must be short, and must not write.
    public func submit<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T, then answer: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let item = Item(
            run: { db in
                let result: Result<T, any Error>
                // Savepoint statements are prepared once per connection, not per write.
                do {
                    try db.cachedStatement(sql: "SAVEPOINT tenantry_write").execute()
                } catch {
                    let failure = Result<T, any Error>.failure(self.classify(error))
                    return { answer(failure) }
                }
                do {
                    let value = try work(db)
                    try db.cachedStatement(sql: "RELEASE SAVEPOINT tenantry_write").execute()
                    result = .success(value)
                } catch {
                    result = .failure(self.classify(error))
                    // A full disk or an I/O error can make SQLite roll back the whole
                    // transaction; the batch then fails as one (see `commit`). A savepoint
                    // that cannot be undone would commit with the batch: this throw fails
                    // the batch instead.
                    if db.isInsideTransaction {
                        try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT tenantry_write").execute()
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT tenantry_write").execute()
                    }
                }
                let outcome = result
                return { answer(outcome) }
            },
            fail: { answer(.failure($0)) }
        )
        enqueue(item)
    }

    public var statistics: Statistics {
        state.withLock { Statistics(commits: $0.commits, writes: $0.writes, largestBatch: $0.largestBatch, failedCommits: $0.failedCommits) }
    }

    /// Refuses writes from now on; those already queued still commit before it returns.
    func stop() {
        state.withLock { $0.stopped = true }
        thread.stop()
    }

    /// What a failed write tells its caller. The storage's own failures become `unavailable`
    /// (counted, and logged once a minute rather than once a request); a constraint the
    /// request broke is the caller's mistake, which validation should have caught first.
    private func classify(_ error: any Error) -> any Error {
        guard let database = error as? DatabaseError else { return error }
        switch database.resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_NOMEM, .SQLITE_PROTOCOL:
            let reason = database.resultCode == .SQLITE_FULL ? "the disk is full" : "\(database.message ?? "storage error") (\(database.resultCode))"
            let failure = DomainError.unavailable("the database cannot be written: \(reason)", retryAfterSeconds: 30)
            let now = ContinuousClock.now
            let log = state.withLock { state -> Bool in
                state.failedCommits += 1
                state.failure = failure
                guard state.lastFailureLogged.map({ now - $0 >= .seconds(60) }) ?? true else { return false }
                state.lastFailureLogged = now
                return true
            }
            if log { logger.error("the database cannot be written", metadata: ["error": "\(database)"]) }
            return failure
        case .SQLITE_CONSTRAINT:
            logger.warning("a write broke a database constraint; its validation should have refused it", metadata: ["error": "\(database)"])
            switch database.extendedResultCode {
            case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
                return DomainError.alreadyExists("that already exists")
            case .SQLITE_CONSTRAINT_FOREIGNKEY:
                return DomainError.notFound("the request names something that does not exist")
            default:
                return DomainError.invalidArgument("a field of the request is out of its allowed range or form")
            }
        default:
            return error
        }
    }

    private func enqueue(_ item: Item) {
        let start = state.withLock { state -> Bool? in
            if state.stopped { return nil }
            state.pending.append(item)
            if state.draining { return false }
            state.draining = true
            return true
        }
        switch start {
        case nil: item.fail(DomainError.internalError("the database writer is stopped"))
        case true?: thread.wake()
        case false?: break
        }
    }

    /// Commits what is queued, up to a batch; false when nothing was.
    private func commitNextBatch() -> Bool {
        let batch = state.withLock { state -> [Item] in
            let count = min(state.pending.count, Self.maximumBatch)
            let batch = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            if batch.isEmpty { state.draining = false }
            return batch
        }
        if batch.isEmpty { return false }
        commit(batch)
        return true
    }

    private func commit(_ batch: [Item]) {
        var answers: [@Sendable () -> Void] = []
        answers.reserveCapacity(batch.count)
        do {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for item in batch {
                        answers.append(try item.run(db))
                        // Past a rollback SQLite chose itself, statements would autocommit one by one.
                        guard db.isInsideTransaction else {
                            throw storageFailure ?? DomainError.unavailable("the database rolled the transaction back", retryAfterSeconds: 5)
                        }
                    }
                    return .commit
                }
            }
        } catch {
            let failure = classify(error)
            if case .unavailable = failure as? DomainError {
            } else {
                logger.error("group commit failed", metadata: ["writes": "\(batch.count)", "error": "\(error)"])
            }
            for item in batch { item.fail(failure) }
            return
        }
        state.withLock {
            $0.failure = nil
            $0.commits += 1
            $0.writes += batch.count
            $0.largestBatch = max($0.largestBatch, batch.count)
        }
        for answer in answers { answer() }
    }
}
