import Foundation
import Synchronization

/// The one source of "now" for every rule and job, injected so tests can move time.
public protocol TimeSource: Sendable {
    func now() -> Instant
}

/// Wall-clock time.
public struct SystemClock: TimeSource {
    public init() {}
    public func now() -> Instant { Instant(Date()) }
}

/// A clock that only moves when told to: for tests, and under the daemon's test mode.
public final class ManualClock: TimeSource {
    private let current: Mutex<Instant>

    public init(_ start: Instant = Instant(milliseconds: 1_800_000_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Instant { current.withLock { $0 } }

    public func advance(seconds: Int64) { current.withLock { $0 = $0.adding(seconds: seconds) } }
    public func set(_ instant: Instant) { current.withLock { $0 = instant } }
}
