/// Limits password guessing: per account and client, per client, and per account from
/// anywhere. The per-account limit is high enough that a stranger cannot lock an owner out
/// from one address, and every limit lifts by itself at the end of its window.
public final class LoginThrottle: Sendable {
    private let perAccountAndClient: RateLimiter
    private let perClient: RateLimiter
    private let perAccount: RateLimiter

    public init(settings: Settings, clock: any TimeSource) {
        perAccountAndClient = RateLimiter(limit: settings.loginFailuresPerAccountAndClient, windowSeconds: settings.loginWindowSeconds, clock: clock)
        perClient = RateLimiter(limit: settings.loginFailuresPerClient, windowSeconds: settings.loginWindowSeconds, clock: clock)
        perAccount = RateLimiter(limit: settings.loginFailuresPerAccount, windowSeconds: settings.loginWindowSeconds, clock: clock)
    }

    /// Throws `resourceExhausted` while `email` may not be tried from `client`.
    public func check(email: String, client: String) throws {
        let waits = [
            perAccountAndClient.retryAfter(email + "|" + client),
            perClient.retryAfter(client),
            perAccount.retryAfter(email),
        ].compactMap { $0 }
        if let wait = waits.max() {
            throw DomainError.resourceExhausted("too many failed attempts; try again in \(wait) seconds", retryAfterSeconds: wait)
        }
    }

    public func recordFailure(email: String, client: String) {
        perAccountAndClient.record(email + "|" + client)
        perClient.record(client)
        perAccount.record(email)
    }

    public func recordSuccess(email: String, client: String) {
        perAccountAndClient.reset(email + "|" + client)
    }

    /// After a password reset the account starts afresh.
    public func forget(email: String) {
        perAccount.reset(email)
    }
}

/// Limits emails that carry codes, per address and per client.
public final class EmailThrottle: Sendable {
    private let perAddress: RateLimiter
    private let perClient: RateLimiter

    public init(settings: Settings, clock: any TimeSource) {
        perAddress = RateLimiter(limit: settings.emailsPerAddressPerHour, windowSeconds: 3600, clock: clock)
        perClient = RateLimiter(limit: settings.emailsPerClientPerHour, windowSeconds: 3600, clock: clock)
    }

    public func admit(email: String, client: String) throws {
        if let wait = [perAddress.retryAfter(email), perClient.retryAfter(client)].compactMap({ $0 }).max() {
            throw DomainError.resourceExhausted("too many emails requested; try again in \(wait) seconds", retryAfterSeconds: wait)
        }
        perAddress.record(email)
        perClient.record(client)
    }
}
