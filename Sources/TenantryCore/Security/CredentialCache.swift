import Foundation
import GRDB
import Synchronization

/// Sessions and API keys as they were last read, by the SHA-256 of their secret, so that a
/// request on the hot path reads no row to learn who is calling.
///
/// The writer's commit that changes what an entry holds (a key revoked, a session ended or
/// moved to another tenant, a user disabled or edited, a membership added, changed or
/// removed, a tenant deleted; for sessions, one marked as used) empties the cache before
/// the writer answers anyone, and a value read before such a commit is never kept, so a
/// change made through the daemon holds from the very next request. Another process's change (`tenantryd admin revoke-key` while the daemon
/// runs) does not pass through the writer: entries are read again once `maximumAge` old.
final class CredentialCache: Sendable {
    static let maximumAge: Duration = .seconds(1)
    /// Past this many entries of a kind, the cache starts over: memory stays bounded.
    static let maximumEntries = 50_000

    struct Entry<Value: Sendable>: Sendable {
        let value: Value
        let readAt: ContinuousClock.Instant
        /// When a request last asked for the key or session to be marked as used (clock
        /// milliseconds, 0 for never): until that write commits, no other request asks again.
        var markedAt: Int64 = 0
    }

    struct Entries: Sendable {
        /// Counts the commits that emptied the cache, so a read that overlapped one is dropped.
        var generation: UInt64 = 0
        var keys: [Data: Entry<ApiKey>] = [:]
        var sessions: [Data: Entry<SessionRecord>] = [:]
    }

    /// A session row with its user and current membership, as `AccountService` resolves it.
    struct SessionRecord: Sendable {
        let sessionId: String
        let lastSeen: Int64
        let expiresAt: Int64
        let revoked: Bool
        let user: User
        let membership: Membership?
    }

    private let entries = Mutex(Entries())

    /// The entry for `hash` if it is young enough, else one with `read`'s answer, kept unless
    /// a change committed while it was being read. Nil (no such row) is not kept.
    func entry<Value: Sendable>(
        _ kind: WritableKeyPath<Entries, [Data: Entry<Value>]> & Sendable, for hash: Data, read: () throws -> Value?
    ) throws -> Entry<Value>? {
        let now = ContinuousClock.now
        let (cached, generation) = entries.withLock { entries -> (Entry<Value>?, UInt64) in
            guard let entry = entries[keyPath: kind][hash], now - entry.readAt < Self.maximumAge else { return (nil, entries.generation) }
            return (entry, entries.generation)
        }
        if let cached { return cached }
        guard let value = try read() else { return nil }
        let entry = Entry(value: value, readAt: now)
        entries.withLock { entries in
            guard entries.generation == generation else { return }
            if entries[keyPath: kind].count >= Self.maximumEntries { entries[keyPath: kind].removeAll(keepingCapacity: true) }
            entries[keyPath: kind][hash] = entry
        }
        return entry
    }

    /// Remembers that a request asked for the entry's key or session to be marked as used.
    func markUsed<Value: Sendable>(_ kind: WritableKeyPath<Entries, [Data: Entry<Value>]> & Sendable, for hash: Data, at now: Instant) {
        entries.withLock { entries in entries[keyPath: kind][hash]?.markedAt = now.milliseconds }
    }

    fileprivate func empty(keys: Bool) {
        entries.withLock { entries in
            entries.generation &+= 1
            if keys { entries.keys.removeAll(keepingCapacity: true) }
            entries.sessions.removeAll(keepingCapacity: true)
        }
    }

    /// Watches the writer's connection for the row the credential triggers bump
    /// (`credential_change`, migration v13): a commit that bumped it empties the cache.
    final class Invalidation: TransactionObserver, @unchecked Sendable {
        private let cache: CredentialCache
        /// What the current transaction bumped: row 1 (every credential) or 2 (sessions).
        /// Only the writer's thread touches it.
        private var changed: (all: Bool, sessions: Bool) = (false, false)

        init(_ cache: CredentialCache) { self.cache = cache }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
            eventKind.tableName == "credential_change"
        }

        func databaseDidChange(with event: DatabaseEvent) {
            if event.rowID == 1 { changed.all = true } else { changed.sessions = true }
            if changed.all && changed.sessions { stopObservingDatabaseChangesUntilNextTransaction() }
        }

        func databaseDidCommit(_ db: Database) {
            if changed.all || changed.sessions { cache.empty(keys: changed.all) }
            changed = (false, false)
        }

        func databaseDidRollback(_ db: Database) { changed = (false, false) }
    }
}
