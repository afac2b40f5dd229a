import Foundation
import GRDB
import TenantryTesting
import Testing

@testable import TenantryCore

private struct JobFailure: Error, CustomStringConvertible {
    var description: String { "the mail relay is down" }
}

/// A job that counts its runs and answers a fixed number of items, or fails.
private struct CountingJob: Job {
    let id: String
    let intervalSeconds: Int64
    let items: Int
    let fails: Bool
    let runs = Locked<[Instant]>([])

    init(id: String, intervalSeconds: Int64, items: Int = 0, fails: Bool = false) {
        self.id = id
        self.intervalSeconds = intervalSeconds
        self.items = items
        self.fails = fails
    }

    func run(now: Instant) async throws -> Int {
        runs.withLock { $0.append(now) }
        if fails { throw JobFailure() }
        return items
    }

    var runCount: Int { runs.value.count }
}

private func state(_ database: AppDatabase, _ id: String) throws -> JobState? {
    try database.read { try JobState.fetchOne($0, key: id) }
}

@Suite("Scheduler")
struct SchedulerTests {
    @Test("runs every job the first time and records its state")
    func firstRun() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let fast = CountingJob(id: "fast", intervalSeconds: 5, items: 3)
            let slow = CountingJob(id: "slow", intervalSeconds: 3600, items: 0)
            let scheduler = Scheduler(jobs: [fast, slow], database: database, clock: clock, logger: quietLogger)

            let before = try scheduler.statuses()
            #expect(before.map(\.id) == ["fast", "slow"])
            #expect(before.map(\.intervalSeconds) == [5, 3600])
            #expect(before.allSatisfy { $0.state.lastResult == .never && $0.state.nextRunAt == nil })

            let start = clock.now()
            #expect(await scheduler.runDue() == ["fast", "slow"])
            #expect(fast.runs.value == [start])
            #expect(slow.runCount == 1)

            let recorded = try #require(try state(database, "fast"))
            #expect(recorded.lastResult == .ok)
            #expect(recorded.itemsProcessed == 3)
            #expect(recorded.lastError == nil)
            #expect(recorded.lastStartedAt == start)
            #expect(recorded.lastFinishedAt == start)
            #expect(recorded.nextRunAt == start.adding(seconds: 5))
            #expect(try state(database, "slow")?.nextRunAt == start.adding(seconds: 3600))
            let statuses = try scheduler.statuses()
            #expect(statuses.map(\.state.lastResult) == [.ok, .ok])
        }
    }

    @Test("does not run a job again before its interval, and runs it after")
    func intervals() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let fast = CountingJob(id: "fast", intervalSeconds: 5)
            let slow = CountingJob(id: "slow", intervalSeconds: 3600)
            let scheduler = Scheduler(jobs: [fast, slow], database: database, clock: clock, logger: quietLogger)
            await scheduler.runDue()
            #expect(await scheduler.runDue() == [])
            clock.advance(seconds: 4)
            #expect(await scheduler.runDue() == [])
            clock.advance(seconds: 1)
            #expect(await scheduler.runDue() == ["fast"])
            #expect(fast.runCount == 2 && slow.runCount == 1)
            clock.advance(seconds: 3600)
            // Both are due; a job that missed many intervals runs once, not once per interval.
            #expect(await scheduler.runDue() == ["fast", "slow"])
            #expect(fast.runCount == 3 && slow.runCount == 2)
            #expect(try state(database, "fast")?.nextRunAt == clock.now().adding(seconds: 5))
        }
    }

    @Test("a job that throws is recorded as failed with its error; the others still run")
    func failures() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let broken = CountingJob(id: "broken", intervalSeconds: 60, fails: true)
            let fine = CountingJob(id: "fine", intervalSeconds: 60, items: 1)
            let scheduler = Scheduler(jobs: [broken, fine], database: database, clock: clock, logger: quietLogger)
            #expect(await scheduler.runDue() == ["broken", "fine"])
            let failed = try #require(try state(database, "broken"))
            #expect(failed.lastResult == .failed)
            #expect(failed.lastError == "the mail relay is down")
            #expect(failed.itemsProcessed == 0)
            // A failed job is retried at its next interval, not in a tight loop.
            #expect(failed.nextRunAt == clock.now().adding(seconds: 60))
            #expect(try state(database, "fine")?.lastResult == .ok)
            #expect(await scheduler.runDue() == [])
            clock.advance(seconds: 60)
            #expect(await scheduler.runDue() == ["broken", "fine"])
            #expect(broken.runCount == 2)
        }
    }

    @Test("job state survives a new scheduler on the same database")
    func stateSurvivesRestart() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let first = CountingJob(id: "job", intervalSeconds: 600)
            await Scheduler(jobs: [first], database: database, clock: clock, logger: quietLogger).runDue()
            let second = CountingJob(id: "job", intervalSeconds: 600)
            let restarted = Scheduler(jobs: [second], database: database, clock: clock, logger: quietLogger)
            #expect(await restarted.runDue() == [])
            #expect(second.runCount == 0)
            clock.advance(seconds: 600)
            #expect(await restarted.runDue() == ["job"])
        }
    }

    @Test("concurrent runDue calls never run a job twice")
    func noOverlap() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let job = CountingJob(id: "job", intervalSeconds: 60)
            let scheduler = Scheduler(jobs: [job], database: database, clock: clock, logger: quietLogger)
            let ran = await withTaskGroup(of: [String].self) { group in
                for _ in 0..<8 { group.addTask { await scheduler.runDue() } }
                var all: [String] = []
                for await ids in group { all += ids }
                return all
            }
            #expect(ran == ["job"])
            #expect(job.runCount == 1)
        }
    }

    @Test("start runs due jobs on its own; stop ends the loop")
    func startAndStop() async throws {
        try await withDatabase { database async throws in
            let clock = ManualClock()
            let job = CountingJob(id: "job", intervalSeconds: 60)
            let scheduler = Scheduler(jobs: [job], database: database, clock: clock, logger: quietLogger)
            scheduler.start(tickSeconds: 0.01)
            // Wait (bounded) for the loop's first run.
            var polls = 0
            while job.runCount == 0, polls < 1000 {
                try await Task.sleep(for: .milliseconds(10))
                polls += 1
            }
            await scheduler.stop()
            #expect(job.runCount == 1)
            #expect(try state(database, "job")?.lastResult == .ok)
            clock.advance(seconds: 60)
            // Stopped: nothing runs unless asked.
            #expect(job.runCount == 1)
            #expect(await scheduler.runDue() == ["job"])
        }
    }

    @Test("the daemon's housekeeping jobs deliver mail and purge what expired")
    func housekeeping() async throws {
        let harness = try Harness()
        let scheduler = harness.tenantry.scheduler
        let ids = scheduler.jobs.map(\.id)
        #expect(Set(ids).isSuperset(of: ["deliverMail", "purgeExpired", "checkpointWAL"]))
        #expect(Set(ids).count == ids.count)
        let token = try await harness.activeUser("alice@example.com")
        _ = try await harness.accounts.sessionLogin(email: "alice@example.com", password: "correct horse", client: "c")
        #expect(try harness.mails(to: "alice@example.com").allSatisfy { $0.email.status == .queued })

        // The first run catches up on every job, in their declared order.
        #expect(await scheduler.runDue() == ids)
        #expect(try scheduler.statuses().allSatisfy { $0.state.lastResult == .ok })
        #expect(try await eventually { try harness.mails(to: "alice@example.com").allSatisfy { $0.email.status == .sent } })
        let delivered = try harness.mails(to: "alice@example.com")
        #expect(!delivered.isEmpty)
        #expect(delivered.allSatisfy { $0.email.status == .sent && $0.email.attempts == 1 && $0.email.sentAt == harness.clock.now() })
        #expect(try state(harness.database, "deliverMail")?.itemsProcessed == delivered.count)
        // Nothing has expired yet: the verification, sessions and emails are kept.
        #expect(try harness.count("SELECT count(*) FROM session") == 3)
        #expect(try harness.count("SELECT count(*) FROM verification") == 1)

        // 45 days later the ended sessions are gone, as are the spent codes and old sent mail.
        _ = try harness.principal(token)
        harness.clock.advance(seconds: 45 * 86_400)
        let ran = await scheduler.runDue()
        #expect(ran.contains("purgeExpired"))
        #expect(try harness.count("SELECT count(*) FROM session") == 0)
        #expect(try harness.count("SELECT count(*) FROM verification") == 0)
        #expect(try harness.count("SELECT count(*) FROM outbox WHERE created_at < ?", [harness.clock.now().adding(days: -30)]) == 0)
        #expect((try state(harness.database, "purgeExpired")?.itemsProcessed ?? 0) > 0)
        #expect(try state(harness.database, "checkpointWAL")?.lastResult == .ok)
        // The user and their tenant are not touched.
        #expect(try harness.user("alice@example.com") != nil)
        #expect(try harness.count("SELECT count(*) FROM tenant") == 1)
    }
}
