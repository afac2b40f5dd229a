import GRDB

/// What the scheduler remembers of a job between runs and restarts.
public struct JobState: TenantryRecord, Equatable {
    public enum Result: String, Codable, Sendable, CaseIterable { case never, ok, failed }

    public static let databaseTableName = "job_state"

    public var id: String
    public var lastStartedAt: Instant?
    public var lastFinishedAt: Instant?
    public var lastResult: Result
    public var lastError: String?
    public var itemsProcessed: Int
    public var nextRunAt: Instant?
}

/// A job and its state, as the admin API shows it.
public struct JobStatus: Sendable {
    public let id: String
    public let intervalSeconds: Int64
    public let state: JobState
}
