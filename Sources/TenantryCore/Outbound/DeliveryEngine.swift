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

    private let queue: WorkQueue
    private let inFlight = Mutex<Set<String>>([])

    init(name: String, concurrency: Int, queueLimit: Int) {
        queue = WorkQueue(name: name, threads: concurrency, limit: queueLimit)
    }

    /// The ids being attempted now.
    var busy: Set<String> { inFlight.withLock { $0 } }

    /// Hands `items` over; `record` runs (as a task) with each outcome. Answers how many were taken.
    func dispatch<Result: Sendable>(_ items: [Item<Result>], record: @escaping @Sendable (String, Result) async -> Void) -> Int {
        var taken = 0
        for item in items {
            guard inFlight.withLock({ $0.insert(item.id).inserted }) else { continue }
            let accepted = queue.submit(
                { [self] in
                    let outcome = item.attempt()
                    Task {
                        await record(item.id, outcome)
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
