/// What one attempt to deliver something (an email, a webhook) came to.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Worth another try later: a 4xx reply, a refused or dropped connection, a timeout.
    case transient(String)
    /// No retry can help: a 5xx reply, a refused address.
    case permanent(String)
}

/// When to try again: exponential backoff with jitter, up to a bounded age. Every kind of
/// delivery follows this one policy.
public struct RetryPolicy: Sendable {
    public var firstDelaySeconds: Int64
    public var maximumDelaySeconds: Int64
    /// Past this age since the item was queued, a failed attempt is the last.
    public var maximumAgeSeconds: Int64

    public init(firstDelaySeconds: Int64, maximumDelaySeconds: Int64, maximumAgeSeconds: Int64) {
        self.firstDelaySeconds = firstDelaySeconds
        self.maximumDelaySeconds = maximumDelaySeconds
        self.maximumAgeSeconds = maximumAgeSeconds
    }

    /// Emails: from 30 s, doubling up to an hour, for a day.
    public static let mail = RetryPolicy(firstDelaySeconds: 30, maximumDelaySeconds: 3600, maximumAgeSeconds: 86_400)

    /// When the next attempt is due after attempt number `attempts` failed, or nil when the
    /// item is too old to be tried again. `jitter` (0.8 to 1.2) spreads retries that failed together.
    public func nextAttempt(afterAttempt attempts: Int, queuedAt: Instant, now: Instant, jitter: Double = .random(in: 0.8...1.2)) -> Instant? {
        let doublings = min(max(attempts - 1, 0), 30)
        let base = min(firstDelaySeconds << Int64(doublings), maximumDelaySeconds)
        let delayMilliseconds = Int64(Double(base * 1000) * jitter)
        let next = now.adding(milliseconds: delayMilliseconds)
        return next <= queuedAt.adding(seconds: maximumAgeSeconds) ? next : nil
    }
}
