import GRDB
import Synchronization

/// The daemon's test mode clock: the system clock plus an offset that only grows, kept in
/// the database so that a restart keeps the moved time.
public final class TestClock: TimeSource {
    private let base: any TimeSource
    private let offset: Mutex<Int64>

    public init(database: AppDatabase, base: any TimeSource = SystemClock()) throws {
        self.base = base
        offset = Mutex(try database.read { try Int64.fetchOne($0, sql: "SELECT milliseconds FROM clock_offset WHERE id = 1") } ?? 0)
    }

    public func now() -> Instant { base.now().adding(milliseconds: offset.withLock { $0 }) }

    /// Moves time forward, durably; answers the new now.
    public func advance(seconds: Int64, database: AppDatabase) async throws -> Instant {
        guard seconds > 0 else { throw DomainError.invalidArgument("seconds must be positive: the clock only moves forward") }
        guard seconds <= 20 * 365 * 86_400 else { throw DomainError.invalidArgument("seconds must be at most 20 years") }
        let moved = try await database.write { db -> Int64 in
            let current = try Int64.fetchOne(db, sql: "SELECT milliseconds FROM clock_offset WHERE id = 1") ?? 0
            let next = current + seconds * 1000
            try db.execute(sql: "INSERT INTO clock_offset (id, milliseconds) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET milliseconds = excluded.milliseconds", arguments: [next])
            return next
        }
        offset.withLock { $0 = moved }
        return now()
    }
}
