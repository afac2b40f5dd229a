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

    private struct Work {
        let run: @Sendable () -> Void
        /// Called instead of `run` when the queue stops before the work started.
        let cancel: @Sendable () -> Void
    }

    private struct State {
        var waiting: [Work] = []
        var running = 0
        var refused = 0
        var completed = 0
        var stopped = false
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

    /// Queues `work`; false (and nothing queued) when `limit` are already waiting or the
    /// queue has stopped. `cancel` runs instead of `work` if the queue stops before it starts.
    @discardableResult
    func submit(_ work: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void = {}) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped, state.waiting.count < limit else {
                state.refused += 1
                return false
            }
            state.waiting.append(Work(run: work, cancel: cancel))
            return true
        }
        if accepted { threads.wake() }
        return accepted
    }

    /// Runs `body` on the queue's threads and answers its result; `refusal` when the queue is full.
    func run<T: Sendable>(refusal: any Error, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let queued = submit(
                { continuation.resume(with: Result { try body() }) },
                cancel: { continuation.resume(throwing: DomainError.unavailable("shutting down", retryAfterSeconds: 5)) })
            if !queued { continuation.resume(throwing: refusal) }
        }
    }

    /// Refuses new work, cancels what has not started, lets what runs finish, and ends the threads.
    func stop() {
        let dropped = state.withLock { state -> [Work] in
            state.stopped = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for work in dropped { work.cancel() }
        threads.stop()
    }

    private func runNext() -> Bool {
        let next = state.withLock { state -> Work? in
            guard !state.waiting.isEmpty else { return nil }
            state.running += 1
            return state.waiting.removeFirst()
        }
        guard let next else { return false }
        next.run()
        state.withLock {
            $0.running -= 1
            $0.completed += 1
        }
        return true
    }
}
