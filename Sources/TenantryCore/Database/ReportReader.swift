import GRDB
import Synchronization

/// Reads that may take longer than a polling thread should wait (usage reports, the
/// operator's lists and aggregates) run here, on threads of their own: a slow one holds
/// back other reports, never the polling threads, the writer or the hasher.
public final class ReportReader: Sendable {
    /// Reports waiting beyond this are refused (code 8) rather than queued without bound.
    public static let queueLimit = 256

    private let pool: DatabasePool
    private let threads: WorkerThreads
    private let waiting = Mutex<[@Sendable () -> Void]>([])

    init(pool: DatabasePool, threads count: Int) {
        self.pool = pool
        threads = WorkerThreads(name: "tenantry-report", count: count)
        threads.start { [self] in runNext() }
    }

    private func runNext() -> Bool {
        guard let next = waiting.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return false }
        next()
        return true
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pool = self.pool
            let accepted = waiting.withLock { waiting -> Bool in
                guard waiting.count < Self.queueLimit else { return false }
                waiting.append { continuation.resume(with: Result { try pool.read(body) }) }
                return true
            }
            if accepted {
                threads.wake()
            } else {
                continuation.resume(throwing: DomainError.resourceExhausted("too many reports in progress; retry shortly", retryAfterSeconds: 1))
            }
        }
    }

    func stop() { threads.stop() }
}
