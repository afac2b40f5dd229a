import Synchronization

/// Counts events per key in a sliding window, in memory: past `limit` events within
/// `windowSeconds`, `retryAfter` says how long until the oldest one leaves the window.
/// A limit always lifts by itself, so nobody can lock anyone out for good.
public final class RateLimiter: Sendable {
    public let limit: Int
    public let windowSeconds: Int64
    private let clock: any TimeSource
    private let events = Mutex([String: [Instant]]())

    public init(limit: Int, windowSeconds: Int64, clock: any TimeSource) {
        self.limit = limit
        self.windowSeconds = windowSeconds
        self.clock = clock
    }

    /// Seconds to wait before `key` may act again, or nil when it may act now.
    public func retryAfter(_ key: String) -> Int? {
        let now = clock.now()
        return events.withLock { events -> Int? in
            let recent = Self.recent(events[key] ?? [], now: now, window: windowSeconds)
            events[key] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            let wait = oldest.adding(seconds: windowSeconds).milliseconds - now.milliseconds
            return max(1, Int((wait + 999) / 1000))
        }
    }

    public func record(_ key: String) {
        let now = clock.now()
        events.withLock { events in
            var recent = Self.recent(events[key] ?? [], now: now, window: windowSeconds)
            recent.append(now)
            if recent.count > limit { recent.removeFirst(recent.count - limit) }
            events[key] = recent
            // Sweep idle keys now and then so memory follows the active keys only.
            if events.count > 10_000 {
                events = events.compactMapValues {
                    let kept = Self.recent($0, now: now, window: windowSeconds)
                    return kept.isEmpty ? nil : kept
                }
            }
        }
    }

    public func reset(_ key: String) {
        _ = events.withLock { $0.removeValue(forKey: key) }
    }

    private static func recent(_ events: [Instant], now: Instant, window: Int64) -> [Instant] {
        let cutoff = now.adding(seconds: -window)
        return events.filter { $0 > cutoff }
    }
}
