import Synchronization

/// Work waiting for threads of our own (`WorkerThreads`), with a bound: past `limit`
/// waiting, new work is refused at once rather than queued without end. The password
/// hasher, the report reader and outbound delivery each run on one.
final class WorkQueue: Sendable {
    struct Statistics: Sendable {
        let waiting: Int
        let running: Int
        let refused: Int
        let completed: Int
    }

    private struct State {
        var waiting: [@Sendable () -> Void] = []
        var running = 0
        var refused = 0
        var completed = 0
    }

    let limit: Int
    private let state = Mutex(State())
    private let threads: WorkerThreads

    init(name: String, threads count: Int, limit: Int, niceness: Int32 = 0) {
        self.limit = limit
        threads = WorkerThreads(name: name, count: count, niceness: niceness)
        threads.start { [self] in runNext() }
    }

    var statistics: Statistics {
        state.withLock { Statistics(waiting: $0.waiting.count, running: $0.running, refused: $0.refused, completed: $0.completed) }
    }

    /// True while new work would be refused; counts the refusal.
    func refusesNewWork() -> Bool {
        state.withLock { state in
            guard state.waiting.count >= limit else { return false }
            state.refused += 1
            return true
        }
    }

    /// Queues `work`; false (and nothing queued) when `limit` are already waiting.
    @discardableResult
    func submit(_ work: @escaping @Sendable () -> Void) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard state.waiting.count < limit else {
                state.refused += 1
                return false
            }
            state.waiting.append(work)
            return true
        }
        if accepted { threads.wake() }
        return accepted
    }

    /// Runs `body` on the queue's threads and answers its result; `refusal` when the queue is full.
    func run<T: Sendable>(refusal: any Error, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            if !submit({ continuation.resume(with: Result { try body() }) }) {
                continuation.resume(throwing: refusal)
            }
        }
    }

    /// Ends the threads once the work queued has run.
    func stop() { threads.stop() }

    private func runNext() -> Bool {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.waiting.isEmpty else { return nil }
            state.running += 1
            return state.waiting.removeFirst()
        }
        guard let next else { return false }
        next()
        state.withLock {
            $0.running -= 1
            $0.completed += 1
        }
        return true
    }
}
