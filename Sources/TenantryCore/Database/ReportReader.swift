import GRDB

/// Reads that may take longer than a polling thread should wait (usage reports, the
/// operator's lists and aggregates) run here, on threads of their own: a slow one holds
/// back other reports, never the polling threads, the writer or the hasher.
public final class ReportReader: Sendable {
    /// Reports waiting beyond this are refused (code 8) rather than queued without bound.
    public static let queueLimit = 256

    private let pool: DatabasePool
    private let queue: WorkQueue

    init(pool: DatabasePool, threads: Int) {
        self.pool = pool
        queue = WorkQueue(name: "tenantry-report", threads: threads, limit: Self.queueLimit)
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = self.pool
        return try await queue.run(refusal: DomainError.resourceExhausted("too many reports in progress; retry shortly", retryAfterSeconds: 1)) {
            try pool.read(body)
        }
    }

    func stop() { queue.stop() }
}
