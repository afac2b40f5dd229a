import Foundation
import Synchronization

/// The one engine outbound deliveries (emails, webhooks) run on: due items are handed to
/// delivery threads of their own (bounded in number and queue), never waited for by the
/// scheduler, the writer or a polling thread; each outcome is recorded when it comes.
/// An item is never handed over twice while an attempt is under way.
final class DeliveryEngine: Sendable {
    struct Item<Result: Sendable>: Sendable {
        let id: String
        /// Runs on a delivery thread and may block (network I/O).
        let attempt: @Sendable () -> Result
    }

    /// Where an item stands once its outcome is written.
    enum Verdict: Sendable {
        case delivered
        case retrying
        case failed
    }

    private struct Counts {
        var delivered = 0
        var failed = 0
        var retried = 0
    }

    private let queue: WorkQueue
    private let inFlight = Mutex<Set<String>>([])
    private let counts = Mutex(Counts())

    init(name: String, concurrency: Int, queueLimit: Int) {
        queue = WorkQueue(name: name, threads: concurrency, limit: queueLimit)
    }

    /// The ids being attempted now.
    var busy: Set<String> { inFlight.withLock { $0 } }

    var statistics: DeliveryStatistics {
        let attempting = busy.count
        return counts.withLock { DeliveryStatistics(delivered: $0.delivered, failed: $0.failed, retried: $0.retried, inFlight: attempting) }
    }

    /// Counts items given up on without an attempt (an email whose code is gone).
    func countFailed(_ count: Int) {
        counts.withLock { $0.failed += count }
    }

    /// Hands `items` over; `record` runs (as a task) with each outcome, writes it, and
    /// answers where the item now stands (nil: nothing written). Answers how many were taken.
    func dispatch<Result: Sendable>(_ items: [Item<Result>], record: @escaping @Sendable (String, Result) async -> Verdict?) -> Int {
        var taken = 0
        for item in items {
            guard inFlight.withLock({ $0.insert(item.id).inserted }) else { continue }
            let accepted = queue.submit(
                { [self] in
                    let outcome = item.attempt()
                    Task {
                        let verdict = await record(item.id, outcome)
                        self.counts.withLock { counts in
                            switch verdict {
                            case .delivered?: counts.delivered += 1
                            case .retrying?: counts.retried += 1
                            case .failed?: counts.failed += 1
                            case nil: break
                            }
                        }
                        _ = self.inFlight.withLock { $0.remove(item.id) }
                    }
                },
                // Never started: it stays due in its table and goes out after the restart.
                cancel: { [self] in _ = inFlight.withLock { $0.remove(item.id) } })
            if accepted { taken += 1 } else { _ = inFlight.withLock { $0.remove(item.id) } }
        }
        return taken
    }

    /// Takes no more work, drops what has not started (it stays due), lets the attempts under
    /// way finish, and waits a little for their outcomes to be written: an outcome lost here
    /// only means the item is tried again after the restart.
    func stop() {
        queue.stop()
        for _ in 0..<200 where !busy.isEmpty { Thread.sleep(forTimeInterval: 0.01) }
    }
}

/// What a delivery engine has done since the daemon started, for /metrics.
public struct DeliveryStatistics: Sendable {
    public let delivered: Int
    public let failed: Int
    public let retried: Int
    public let inFlight: Int
}
