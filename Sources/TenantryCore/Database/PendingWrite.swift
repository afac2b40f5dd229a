import GRDB

/// A write a service has checked and prepared but not yet queued: awaited with `value`, or
/// answered on the writer's thread with `then`. The hot paths use `then`, so a debit goes
/// from the polling thread to the writer and back to its connection without a task.
public struct PendingWrite<Value: Sendable>: Sendable {
    let database: AppDatabase
    let work: @Sendable (Database) throws -> Value

    /// `work` gets the time on the writer's thread, as the write runs: two writes prepared
    /// on two polling threads then carry times in the order they commit (the ledger's rows,
    /// listed by sequence, are also in time order).
    init(_ context: ServiceContext, _ work: @escaping @Sendable (Database, Instant) throws -> Value) {
        self.database = context.database
        let clock = context.clock
        self.work = { db in try work(db, clock.now()) }
    }

    /// Queues it and waits for the commit that holds it.
    public var value: Value {
        get async throws { try await database.write(work) }
    }

    /// Queues it; `answer` runs on the writer's thread after the commit, and must be short.
    public func then(_ answer: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        database.write(work, then: answer)
    }
}
