import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Threads of Tenantry's own, outside Swift's executor, for work that blocks: the writer's
/// fsync and the password hasher's argon2id. Each thread waits for `wake`, runs `body`
/// until it answers false (nothing left), and waits again; `stop` wakes every thread and
/// returns once all have ended, after `body` has drained what was queued.
final class WorkerThreads: Sendable {
    private let wakeUps = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let count: Int
    private let name: String
    private let niceness: Int32

    /// `niceness` > 0 lowers the threads' scheduling priority (Linux's per-thread nice), so
    /// their work yields the cores to the HTTP threads under load.
    init(name: String, count: Int, niceness: Int32 = 0) {
        self.count = max(1, count)
        self.name = name
        self.niceness = niceness
    }

    /// Starts the threads; `body` runs one piece of work and answers false when there was none.
    func start(_ body: @escaping @Sendable () -> Bool) {
        let niceness = self.niceness
        for index in 0..<count {
            let threadName = count == 1 ? name : "\(name)-\(index)"
            let thread = Thread { [self] in
                Self.nameThisThread(threadName)
                if niceness != 0 { Self.lowerPriority(by: niceness) }
                while true {
                    wakeUps.wait()
                    while body() {}
                    if stopping.load(ordering: .acquiring) {
                        while body() {}
                        ended.signal()
                        return
                    }
                }
            }
            thread.start()
        }
    }

    /// Tells one thread there is work.
    func wake() { wakeUps.signal() }

    /// Ends every thread once what is queued has run; waits for them.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for _ in 0..<count { wakeUps.signal() }
        for _ in 0..<count { ended.wait() }
    }

    /// The name `top -H` and /proc show (at most 15 bytes).
    private static func nameThisThread(_ name: String) {
        // Glibc's pthread_setname_np is not visible to Swift; this is what it writes.
        try? String(name.prefix(15)).write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
    }

    private static func lowerPriority(by niceness: Int32) {
        #if canImport(Glibc)
            // On Linux the nice value is per thread: "who = 0" is the calling thread alone.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
    }
}
