import GRDB
import Logging
import Synchronization

/// Runs the jobs: at start (to catch up), then whenever one is due by the injected clock.
/// Runs never overlap, so a manual advance of the test clock and the timer loop cannot
/// run the same job twice at once.
public final class Scheduler: Sendable {
    public let jobs: [any Job]
    private let database: AppDatabase
    private let clock: any TimeSource
    private let logger: Logger
    private let serial = SerialRunner()
    private let loop = Mutex<Task<Void, Never>?>(nil)

    public init(jobs: [any Job], database: AppDatabase, clock: any TimeSource, logger: Logger) {
        precondition(Set(jobs.map(\.id)).count == jobs.count, "job ids must be unique")
        self.jobs = jobs
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    /// Runs every job that is due now (or has never run); answers the ids that ran.
    @discardableResult
    public func runDue() async -> [String] {
        await serial.run { [self] in
            var ran: [String] = []
            for job in jobs {
                let now = clock.now()
                let state = (try? database.read { try JobState.fetchOne($0, key: job.id) }) ?? nil
                if let next = state?.nextRunAt, next > now { continue }
                await execute(job, now: now)
                ran.append(job.id)
            }
            return ran
        }
    }

    /// Checks for due jobs every `tickSeconds` of real time until stopped.
    public func start(tickSeconds: Double = 1) {
        let task = Task { [self] in
            while !Task.isCancelled {
                await runDue()
                try? await Task.sleep(for: .milliseconds(Int(tickSeconds * 1000)))
            }
        }
        loop.withLock { $0 = task }
    }

    /// Stops the timer loop and waits for a run in progress to finish.
    public func stop() async {
        let task = loop.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    public func statuses() throws -> [JobStatus] {
        let states = try database.read { db in
            Dictionary(uniqueKeysWithValues: try JobState.fetchAll(db).map { ($0.id, $0) })
        }
        return jobs.map { job in
            JobStatus(
                id: job.id, intervalSeconds: job.intervalSeconds,
                state: states[job.id] ?? JobState(id: job.id, lastStartedAt: nil, lastFinishedAt: nil, lastResult: .never, lastError: nil, itemsProcessed: 0, nextRunAt: nil)
            )
        }
    }

    private func execute(_ job: any Job, now: Instant) async {
        var state = JobState(id: job.id, lastStartedAt: now, lastFinishedAt: nil, lastResult: .ok, lastError: nil, itemsProcessed: 0, nextRunAt: nil)
        do {
            state.itemsProcessed = try await job.run(now: now)
        } catch {
            state.lastResult = .failed
            state.lastError = String(describing: error).prefix(1000).description
            logger.error("job failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
        let finished = clock.now()
        state.lastFinishedAt = finished
        // From the end of the run: a catch-up longer than the interval is not followed at once
        // by an empty run that would hide what it did.
        state.nextRunAt = max(now, finished).adding(seconds: job.intervalSeconds)
        let record = state
        do {
            try await database.write { try record.save($0) }
        } catch {
            logger.error("could not record job state", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }
}

/// Runs async operations one after another, in the order they were submitted.
private actor SerialRunner {
    private var tail: Task<Void, Never>?

    func run<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T {
        let previous = tail
        let task = Task<T, Never> {
            await previous?.value
            return await operation()
        }
        tail = Task { _ = await task.value }
        return await task.value
    }
}
