import Foundation
import Synchronization
import Testing

@testable import TenantryCore

@Suite("PasswordHasher")
struct PasswordHasherTests {
    @Test("hashes into a PHC string that verifies the right password only")
    func hashAndVerify() async throws {
        let hasher = try PasswordHasher(parameters: cheapHashing, workers: 2)
        let phc = try await hasher.hash("correct horse battery")
        #expect(phc.hasPrefix("$argon2id$v=19$m=64,t=1,p=1$"))
        // $argon2id$v=19$m=…$salt$hash: a 16-byte salt and a 32-byte hash, base64 without padding.
        let fields = phc.split(separator: "$")
        #expect(fields.count == 5)
        #expect(fields.last?.count == 43)
        #expect(fields.dropLast().last?.count == 22)
        #expect(try await hasher.verify("correct horse battery", against: phc))
        #expect(try await !hasher.verify("correct horse batterY", against: phc))
        #expect(try await !hasher.verify("", against: phc))
        #expect(try await !hasher.verify("correct horse battery", against: "$argon2id$v=19$m=64,t=1,p=1$garbage"))
    }

    @Test("worker threads run at the niceness asked, drain what is queued on stop, then end")
    func workerThreads() async throws {
        func threads(named name: String) throws -> [Int] {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
                let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                guard comm?.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix(name) == true else { return nil }
                // The nice value is field 19 of stat, the 17th after the parenthesised name.
                let stat = try String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8)
                return Int(stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")[16])
            }
        }
        let queue = Mutex<[Int]>(Array(0..<50))
        let done = Mutex<[Int]>([])
        let workers = WorkerThreads(name: "nicetest", count: 2, niceness: 10)
        workers.start {
            guard let item = queue.withLock({ $0.popLast() }) else { return false }
            done.withLock { $0.append(item) }
            return true
        }
        workers.wake()
        try await Task.sleep(for: .milliseconds(50))
        #expect(try threads(named: "nicetest") == [10, 10])
        queue.withLock { $0 = Array(100..<150) }
        await Task.detached { workers.stop() }.value
        #expect(done.withLock { Set($0) } == Set(0..<50).union(100..<150))
        // Each thread has signalled its end; the kernel reaps it a moment later.
        for _ in 0..<100 where try !threads(named: "nicetest").isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try threads(named: "nicetest").isEmpty)
    }

    @Test("hashes non-ASCII passwords by their UTF-8 bytes")
    func unicodePasswords() async throws {
        let hasher = try PasswordHasher(parameters: cheapHashing, workers: 1)
        let phc = try await hasher.hash("mot de passe ünïcødé 🔑")
        #expect(try await hasher.verify("mot de passe ünïcødé 🔑", against: phc))
        #expect(try await !hasher.verify("mot de passe unicode 🔑", against: phc))
    }

    @Test("salts each hash afresh")
    func distinctSalts() async throws {
        let hasher = try PasswordHasher(parameters: cheapHashing, workers: 2)
        let first = try await hasher.hash("same password")
        let second = try await hasher.hash("same password")
        #expect(first != second)
        #expect(first.split(separator: "$")[3] != second.split(separator: "$")[3])
        #expect(try await hasher.verify("same password", against: first))
        #expect(try await hasher.verify("same password", against: second))
    }

    @Test("a missing hash never verifies")
    func nilHash() async throws {
        let hasher = try PasswordHasher(parameters: cheapHashing, workers: 1)
        #expect(try await !hasher.verify("anything at all", against: nil))
        #expect(try await !hasher.verify("", against: nil))
        // The check still runs (against the decoy) on the pool; with one worker the first
        // check is counted before the second one starts.
        #expect(hasher.statistics.completed >= 1)
        #expect(hasher.statistics.refused == 0)
    }

    @Test("needsRehash is true only for hashes made with other parameters")
    func needsRehash() async throws {
        let cheap = try PasswordHasher(parameters: cheapHashing, workers: 1)
        let stronger = try PasswordHasher(parameters: .init(memoryKiB: 128, iterations: 2, parallelism: 1), workers: 1)
        let phc = try await cheap.hash("a password")
        #expect(!cheap.needsRehash(phc))
        #expect(stronger.needsRehash(phc))
        // A hash made with other parameters still verifies: the parameters are in the string.
        #expect(try await stronger.verify("a password", against: phc))
        let strongerPHC = try await stronger.hash("a password")
        #expect(!stronger.needsRehash(strongerPHC))
        #expect(cheap.needsRehash(strongerPHC))
        #expect(cheap.needsRehash(""))
        #expect(cheap.needsRehash("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA"))
    }

    @Test("OWASP defaults: m=19 MiB, t=2, p=1")
    func owaspDefaults() async throws {
        #expect(PasswordHasher.Parameters.owasp == .init(memoryKiB: 19_456, iterations: 2, parallelism: 1))
        #expect(Settings().passwordHashing == .owasp)
        let hasher = try PasswordHasher(workers: 1)
        #expect(hasher.parameters == .owasp)
        #expect(hasher.memoryCeilingKiB == 19_456)
        let phc = try await hasher.hash("an owasp password")
        #expect(phc.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(!hasher.needsRehash(phc))
    }

    @Test("the memory ceiling is workers × memory")
    func memoryCeiling() throws {
        let hasher = try PasswordHasher(parameters: .init(memoryKiB: 64, iterations: 1, parallelism: 1), workers: 3)
        #expect(hasher.workers == 3)
        #expect(hasher.memoryCeilingKiB == 192)
        let atLeastOne = try PasswordHasher(parameters: cheapHashing, workers: 0)
        #expect(atLeastOne.workers == 1)
    }

    @Test(
        "password policy: 8 to 128 characters",
        arguments: [
            (7, false), (8, true), (9, true), (127, true), (128, true), (129, false), (0, false),
        ])
    func validateLength(length: Int, accepted: Bool) {
        let password = String(repeating: "a", count: length)
        if accepted {
            #expect(throws: Never.self) { try PasswordHasher.validate(password) }
        } else {
            #expect(throws: DomainError.self) { try PasswordHasher.validate(password) }
        }
    }

    @Test("the policy counts characters, not bytes, and names the field")
    func validateCountsCharacters() {
        #expect(throws: Never.self) { try PasswordHasher.validate(String(repeating: "é", count: 8)) }
        #expect(throws: Never.self) { try PasswordHasher.validate(String(repeating: "🔑", count: 128)) }
        #expect(throws: DomainError.invalidArgument("new_password must be at least 8 characters")) {
            try PasswordHasher.validate("short", field: "new_password")
        }
        #expect(throws: DomainError.invalidArgument("password must be at most 128 characters")) {
            try PasswordHasher.validate(String(repeating: "x", count: 129))
        }
    }

    @Test("with no room in the queue every request is refused at once")
    func zeroQueueRefusesAll() async throws {
        let hasher = try PasswordHasher(parameters: cheapHashing, workers: 1, queueLimit: 0)
        await #expect(throws: DomainError.resourceExhausted("too many password checks in progress; retry shortly", retryAfterSeconds: 1)) {
            try await hasher.hash("a password")
        }
        await #expect(throws: DomainError.self) { try await hasher.verify("a password", against: nil) }
        #expect(hasher.statistics.refused == 2)
        #expect(hasher.statistics.completed == 0)
    }

    @Test("past its queue the hasher refuses with resourceExhausted, and serves the rest")
    func queueOverflow() async throws {
        // One worker and one waiting slot. The worker is first kept busy with a costly check
        // (a hand-made PHC string with 4 MiB × 64 passes), so the burst that follows finds
        // the worker taken: one request waits, the others are refused at once.
        let hasher = try PasswordHasher(parameters: cheapHashing, workers: 1, queueLimit: 1)
        let costly = "$argon2id$v=19$m=4096,t=64,p=1$c29tZXNhbHRzb21lc2FsdA$" + String(repeating: "A", count: 43)
        let blocker = Task { try await hasher.verify("anything", against: costly) }
        let succeeded = Counter()
        let refused = Counter()
        // The wait and the burst run on a thread of their own, so that a busy cooperative
        // pool (other suites run in parallel) cannot delay them past the blocker's run.
        await withTaskExecutorPreference(SerialThreadExecutor.shared) {
            var polls = 0
            while hasher.statistics.running == 0, polls < 100_000 {
                usleep(100)
                polls += 1
            }
            #expect(hasher.statistics.running == 1)
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            let phc = try await hasher.hash("password \(index)")
                            #expect(phc.hasPrefix("$argon2id$v=19$m=64,t=1,p=1$"))
                            succeeded.increment()
                        } catch let error as DomainError {
                            guard case .resourceExhausted(_, let retryAfter) = error else {
                                Issue.record("unexpected \(error)")
                                return
                            }
                            #expect(retryAfter == 1)
                            refused.increment()
                        } catch {
                            Issue.record("unexpected \(error)")
                        }
                    }
                }
            }
        }
        #expect(try await blocker.value == false)
        let ok = succeeded.value
        let no = refused.value
        #expect(ok + no == 50)
        // The blocker held the worker through the burst: one request waited, the rest were refused.
        #expect(ok >= 1)
        #expect(no >= 1)
        let statistics = hasher.statistics
        #expect(statistics.refused == no)
        #expect(statistics.refused > 0)
        #expect(statistics.waiting == 0)
        // Once the burst is over, the hasher serves again.
        let phc = try await hasher.hash("after the burst")
        // One worker runs jobs one after another, so the blocker and every hash of the burst
        // are counted by now.
        #expect(hasher.statistics.completed >= ok + 1)
        #expect(hasher.statistics.refused == no)
        #expect(try await hasher.verify("after the burst", against: phc))
    }
}
