import Foundation
import Testing

@testable import TenantryCore

@Suite("RateLimiter")
struct RateLimiterTests {
    @Test("allows up to the limit, then says how long to wait")
    func limitReached() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: 3, windowSeconds: 60, clock: clock)
        #expect(limiter.retryAfter("k") == nil)
        limiter.record("k")
        limiter.record("k")
        #expect(limiter.retryAfter("k") == nil)
        limiter.record("k")
        #expect(limiter.retryAfter("k") == 60)
        clock.advance(seconds: 20)
        #expect(limiter.retryAfter("k") == 40)
    }

    @Test("the limit lifts once the oldest event leaves the window")
    func windowSlides() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: 3, windowSeconds: 60, clock: clock)
        limiter.record("k")  // t = 0
        clock.advance(seconds: 20)
        limiter.record("k")  // t = 20
        clock.advance(seconds: 20)
        limiter.record("k")  // t = 40
        #expect(limiter.retryAfter("k") == 20)
        clock.advance(seconds: 19)  // t = 59
        #expect(limiter.retryAfter("k") == 1)
        clock.advance(seconds: 1)  // t = 60: the first event is out of the window
        #expect(limiter.retryAfter("k") == nil)
        limiter.record("k")  // t = 60: three events again (20, 40, 60)
        #expect(limiter.retryAfter("k") == 20)
        clock.advance(seconds: 3600)
        #expect(limiter.retryAfter("k") == nil)
    }

    @Test("rounds a partial second up, and never answers 0")
    func roundsUp() {
        let clock = ManualClock(Instant(milliseconds: 0))
        let limiter = RateLimiter(limit: 1, windowSeconds: 10, clock: clock)
        limiter.record("k")
        clock.set(Instant(milliseconds: 9_001))
        #expect(limiter.retryAfter("k") == 1)
        clock.set(Instant(milliseconds: 8_999))
        #expect(limiter.retryAfter("k") == 2)
        clock.set(Instant(milliseconds: 9_999))
        #expect(limiter.retryAfter("k") == 1)
        clock.set(Instant(milliseconds: 10_000))
        #expect(limiter.retryAfter("k") == nil)
    }

    @Test("keys are independent, and reset clears one key")
    func keysAndReset() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: 2, windowSeconds: 60, clock: clock)
        limiter.record("a")
        limiter.record("a")
        limiter.record("b")
        #expect(limiter.retryAfter("a") != nil)
        #expect(limiter.retryAfter("b") == nil)
        limiter.reset("a")
        #expect(limiter.retryAfter("a") == nil)
        limiter.record("b")
        #expect(limiter.retryAfter("b") != nil)
        limiter.reset("never-seen")
        #expect(limiter.retryAfter("b") != nil)
    }

    @Test("events past the limit do not extend the wait beyond the window")
    func extraEventsDoNotLockForever() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: 2, windowSeconds: 60, clock: clock)
        for _ in 0..<50 {
            limiter.record("k")
            clock.advance(seconds: 1)
        }
        let wait = limiter.retryAfter("k")
        #expect(wait != nil && wait! <= 60)
        clock.advance(seconds: 60)
        #expect(limiter.retryAfter("k") == nil)
    }
}

@Suite("LoginThrottle")
struct LoginThrottleTests {
    @Test("5 failures for one account from one client block it there only")
    func perAccountAndClient() throws {
        let clock = ManualClock()
        let throttle = LoginThrottle(settings: Settings(), clock: clock)
        for _ in 0..<4 { throttle.recordFailure(email: "a@x.io", client: "1.1.1.1") }
        try throttle.check(email: "a@x.io", client: "1.1.1.1")
        throttle.recordFailure(email: "a@x.io", client: "1.1.1.1")
        #expect(throws: DomainError.resourceExhausted("too many failed attempts; try again in 900 seconds", retryAfterSeconds: 900)) {
            try throttle.check(email: "a@x.io", client: "1.1.1.1")
        }
        // The same account from elsewhere, and another account from here, are still allowed.
        try throttle.check(email: "a@x.io", client: "2.2.2.2")
        try throttle.check(email: "b@x.io", client: "1.1.1.1")
        // The limit lifts at the end of the 15-minute window.
        clock.advance(seconds: 899)
        #expect(throws: DomainError.self) { try throttle.check(email: "a@x.io", client: "1.1.1.1") }
        clock.advance(seconds: 1)
        try throttle.check(email: "a@x.io", client: "1.1.1.1")
    }

    @Test("a success clears the failures of that account and client")
    func successResets() throws {
        let throttle = LoginThrottle(settings: Settings(), clock: ManualClock())
        for _ in 0..<4 { throttle.recordFailure(email: "a@x.io", client: "c") }
        throttle.recordSuccess(email: "a@x.io", client: "c")
        for _ in 0..<4 { throttle.recordFailure(email: "a@x.io", client: "c") }
        try throttle.check(email: "a@x.io", client: "c")
    }

    @Test("a client guessing across many accounts is limited")
    func perClient() throws {
        let throttle = LoginThrottle(settings: Settings(), clock: ManualClock())
        for index in 0..<30 { throttle.recordFailure(email: "user\(index)@x.io", client: "scanner") }
        #expect(throws: DomainError.self) { try throttle.check(email: "fresh@x.io", client: "scanner") }
        try throttle.check(email: "fresh@x.io", client: "someone-else")
    }

    @Test("an account attacked from many clients is limited, and forget lifts it")
    func perAccount() throws {
        var settings = Settings()
        settings.loginFailuresPerAccount = 10
        let throttle = LoginThrottle(settings: settings, clock: ManualClock())
        for index in 0..<10 { throttle.recordFailure(email: "owner@x.io", client: "bot\(index)") }
        let error = #expect(throws: DomainError.self) { try throttle.check(email: "owner@x.io", client: "home") }
        if case .resourceExhausted(_, let wait)? = error { #expect(wait == 900) } else { Issue.record("got \(String(describing: error))") }
        throttle.forget(email: "owner@x.io")
        try throttle.check(email: "owner@x.io", client: "home")
    }
}

@Suite("EmailThrottle")
struct EmailThrottleTests {
    @Test("5 emails per address per hour")
    func perAddress() throws {
        let clock = ManualClock()
        let throttle = EmailThrottle(settings: Settings(), clock: clock)
        for _ in 0..<5 { try throttle.admit(email: "a@x.io", client: "c") }
        let error = #expect(throws: DomainError.self) { try throttle.admit(email: "a@x.io", client: "c") }
        guard case .resourceExhausted(_, let wait)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(wait == 3600)
        // Another address from the same client is fine.
        try throttle.admit(email: "b@x.io", client: "c")
        clock.advance(seconds: 3600)
        try throttle.admit(email: "a@x.io", client: "c")
    }

    @Test("a refused email is not counted")
    func refusalsNotCounted() throws {
        let clock = ManualClock()
        let throttle = EmailThrottle(settings: Settings(), clock: clock)
        for _ in 0..<5 { try throttle.admit(email: "a@x.io", client: "c") }
        clock.advance(seconds: 1800)
        for _ in 0..<10 { _ = try? throttle.admit(email: "a@x.io", client: "c") }
        clock.advance(seconds: 1800)
        // The five admitted at t=0 have left the window; the refusals at t=1800 did not count.
        for _ in 0..<5 { try throttle.admit(email: "a@x.io", client: "c") }
    }

    @Test("30 emails per client per hour, whatever the addresses")
    func perClient() throws {
        let clock = ManualClock()
        let throttle = EmailThrottle(settings: Settings(), clock: clock)
        for index in 0..<30 { try throttle.admit(email: "user\(index)@x.io", client: "c") }
        #expect(throws: DomainError.self) { try throttle.admit(email: "new@x.io", client: "c") }
        try throttle.admit(email: "new@x.io", client: "other")
        clock.advance(seconds: 3600)
        try throttle.admit(email: "new2@x.io", client: "c")
    }
}
