import Foundation
import GRDB
import Synchronization
import Testing

@testable import TenantryCore

/// The error a test write throws on purpose.
private struct PlannedFailure: Error, Equatable {
    let index: Int
}

private func insertTenant(_ db: Database, id: String) throws {
    try db.execute(sql: "INSERT INTO tenant (id, name, created_at, updated_at) VALUES (?, ?, 0, 0)", arguments: [id, "Tenant \(id)"])
}

private func tenantCount(_ database: AppDatabase) throws -> Int {
    try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM tenant") ?? -1 }
}

/// Holds the writer busy in a first write until `expected` other writes have been submitted,
/// so that they queue up behind it and commit as one group.
private func withWriterHeld(
    _ database: AppDatabase, expected: Int,
    _ submit: @escaping @Sendable (_ submitted: @escaping @Sendable () -> Void) async -> Void
) async throws {
    let submitted = Counter()
    async let blocker: Void = database.write { _ in
        // Runs on the writer's own queue, not on the cooperative pool: waiting here only
        // keeps the writer busy while the other writes are queued.
        while submitted.value < expected { usleep(1_000) }
        // Each task marks itself just before it calls `write`; give the last ones a moment
        // to reach the queue.
        usleep(20_000)
    }
    await submit { submitted.increment() }
    try await blocker
}

@Suite("GroupWriter")
struct GroupWriterTests {
    @Test("a write answers the value it returns, after its commit")
    func returnsValue() async throws {
        try await withDatabase { database async throws in
            let id = try await database.write { db -> String in
                try insertTenant(db, id: "one")
                return "one"
            }
            #expect(id == "one")
            // Visible to readers once the caller has its answer.
            #expect(try tenantCount(database) == 1)
            let optional: Int? = try await database.write { _ in nil }
            #expect(optional == nil)
        }
    }

    @Test("200 concurrent writes all commit, in fewer transactions than writes")
    func concurrentWritesCommitInGroups() async throws {
        try await withDatabase { database async throws in
            let before = database.writer.statistics
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await database.write { db in
                            try insertTenant(db, id: "t\(index)")
                            return index
                        }
                    }
                }
                var answered = Set<Int>()
                for try await index in group { answered.insert(index) }
                #expect(answered == Set(0..<200))
            }
            #expect(try tenantCount(database) == 200)
            let after = database.writer.statistics
            #expect(after.writes - before.writes == 200)
            #expect(after.commits - before.commits <= after.writes - before.writes)
            #expect(after.commits >= 1)
            #expect(after.largestBatch >= 1 && after.largestBatch <= GroupWriter.maximumBatch)
        }
    }

    @Test("writes queued while the writer is busy commit together")
    func queuedWritesShareOneCommit() async throws {
        try await withDatabase { database async throws in
            let before = database.writer.statistics
            try await withWriterHeld(database, expected: 199) { submitted in
                await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<199 {
                        group.addTask {
                            submitted()
                            try await database.write { try insertTenant($0, id: "t\(index)") }
                        }
                    }
                    while let result = await group.nextResult() {
                        if case .failure(let error) = result { Issue.record("write failed: \(error)") }
                    }
                }
            }
            #expect(try tenantCount(database) == 199)
            let after = database.writer.statistics
            let writes = after.writes - before.writes
            let commits = after.commits - before.commits
            #expect(writes == 200)
            // Group commit happened: far fewer transactions than writes.
            #expect(commits < writes)
            #expect(after.largestBatch > 1)
        }
    }

    @Test("a failing write rolls back only its own savepoint; its caller gets its error")
    func failureIsolatedToItsSavepoint() async throws {
        try await withDatabase { database async throws in
            let before = database.writer.statistics
            let outcomes = Locked<[Int: Result<Int, PlannedFailure>]>([:])
            try await withWriterHeld(database, expected: 50) { submitted in
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            submitted()
                            let outcome: Result<Int, PlannedFailure>
                            do {
                                let value = try await database.write { db -> Int in
                                    try insertTenant(db, id: "t\(index)")
                                    if index % 5 == 0 { throw PlannedFailure(index: index) }
                                    return index
                                }
                                outcome = .success(value)
                            } catch let error as PlannedFailure {
                                outcome = .failure(error)
                            } catch {
                                Issue.record("unexpected error \(error)")
                                return
                            }
                            outcomes.withLock { $0[index] = outcome }
                        }
                    }
                }
            }
            let results = outcomes.withLock { $0 }
            #expect(results.count == 50)
            for index in 0..<50 {
                if index % 5 == 0 {
                    #expect(results[index] == .failure(PlannedFailure(index: index)))
                } else {
                    #expect(results[index] == .success(index))
                }
            }
            // Exactly the 40 writes that did not throw left rows.
            #expect(try tenantCount(database) == 40)
            let ids = try database.read { try Set(String.fetchAll($0, sql: "SELECT id FROM tenant")) }
            #expect(ids == Set((0..<50).filter { $0 % 5 != 0 }.map { "t\($0)" }))
            let after = database.writer.statistics
            #expect(after.writes - before.writes == 51)
            #expect(after.commits - before.commits < 51)
        }
    }

    @Test("a constraint violation fails only the write that caused it")
    func constraintViolationIsolated() async throws {
        try await withDatabase { database async throws in
            try await database.write { try insertTenant($0, id: "taken") }
            let duplicate = Task { try await database.write { try insertTenant($0, id: "taken") } }
            let fresh = Task { try await database.write { try insertTenant($0, id: "fresh") } }
            await #expect(throws: DomainError.alreadyExists("that already exists")) { try await duplicate.value }
            try await fresh.value
            let ids = try database.read { try String.fetchAll($0, sql: "SELECT id FROM tenant ORDER BY id") }
            #expect(ids == ["fresh", "taken"])
        }
    }

    @Test("several statements of one write commit or roll back together")
    func writeIsAtomic() async throws {
        try await withDatabase { database async throws in
            await #expect(throws: PlannedFailure.self) {
                try await database.write { db in
                    try insertTenant(db, id: "a")
                    try insertTenant(db, id: "b")
                    throw PlannedFailure(index: 0)
                }
            }
            #expect(try tenantCount(database) == 0)
            try await database.write { db in
                try insertTenant(db, id: "a")
                try insertTenant(db, id: "b")
            }
            #expect(try tenantCount(database) == 2)
        }
    }

    @Test("stop returns only after the writes already queued have committed")
    func stopDrainsQueue() async throws {
        try await withDatabase { database async throws in
            let committedAtStop = Locked<Int?>(nil)
            let outcomes = Locked<[Bool]>([])
            let submitted = Counter()
            // Hold the writer so that the writes below queue up behind it.
            async let blocker: Void = database.write { _ in
                while submitted.value < 30 { usleep(1_000) }
                usleep(20_000)
            }
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<30 {
                    group.addTask {
                        submitted.increment()
                        do {
                            try await database.write { try insertTenant($0, id: "t\(index)") }
                            outcomes.withLock { $0.append(true) }
                        } catch {
                            #expect(error as? DomainError == .internalError("the database writer is stopped"))
                            outcomes.withLock { $0.append(false) }
                        }
                    }
                }
                group.addTask {
                    while submitted.value < 30 { try? await Task.sleep(for: .milliseconds(1)) }
                    // stop blocks its caller until the queue is drained: call it off the pool.
                    let count = await withCheckedContinuation { continuation in
                        Thread {
                            database.writer.stop()
                            continuation.resume(returning: (try? tenantCount(database)) ?? -1)
                        }.start()
                    }
                    committedAtStop.withLock { $0 = count }
                }
            }
            try await blocker
            let succeeded = outcomes.value.filter { $0 }.count
            #expect(outcomes.value.count == 30)
            // Every write that was answered with success was already committed when stop returned.
            #expect(committedAtStop.value == succeeded)
            #expect(try tenantCount(database) == succeeded)
            #expect(succeeded > 0)
        }
    }

    @Test("a stopped writer refuses new writes")
    func stoppedWriterRefuses() async throws {
        try await withDatabase { database async throws in
            try await database.write { try insertTenant($0, id: "before") }
            database.writer.stop()
            let error = await expectDomainError(.internalError("")) {
                try await database.write { try insertTenant($0, id: "after") }
            }
            #expect(error == .internalError("the database writer is stopped"))
            #expect(try tenantCount(database) == 1)
        }
    }
}
