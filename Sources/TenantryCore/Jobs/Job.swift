/// A timer: a stable id, how often it runs, and a run that derives its work from stored
/// timestamps, so that running it twice, or again after a crash, changes nothing more.
public protocol Job: Sendable {
    var id: String { get }
    var intervalSeconds: Int64 { get }
    /// Does what is due at `now`; answers how many items it processed.
    func run(now: Instant) async throws -> Int
}

/// A job made of a closure, for the daemon's housekeeping.
struct ClosureJob: Job {
    let id: String
    let intervalSeconds: Int64
    let body: @Sendable (Instant) async throws -> Int

    func run(now: Instant) async throws -> Int { try await body(now) }
}
