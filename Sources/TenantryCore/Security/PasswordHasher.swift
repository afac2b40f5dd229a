import CArgon2
import Foundation

/// argon2id on a bounded pool: at most `workers` hashes run at once (so memory stays under
/// `workers × memoryKiB`), at most `queueLimit` wait, and the rest are refused at once.
public final class PasswordHasher: Sendable {
    public struct Parameters: Sendable, Equatable {
        public var memoryKiB: UInt32
        public var iterations: UInt32
        public var parallelism: UInt32

        /// OWASP's recommended argon2id setting: m=19 MiB, t=2, p=1.
        public static let owasp = Parameters(memoryKiB: 19 * 1024, iterations: 2, parallelism: 1)

        public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
            self.memoryKiB = memoryKiB
            self.iterations = iterations
            self.parallelism = parallelism
        }
    }

    public static let minimumPasswordLength = 8
    public static let maximumPasswordLength = 128

    public let parameters: Parameters
    public let workers: Int
    public var queueLimit: Int { queue.limit }
    private let queue: WorkQueue
    /// A hash of a random password, checked when the account does not exist so that
    /// a login for an unknown email costs as much as one for a known email.
    private let decoy: String

    public struct Statistics: Sendable {
        public let waiting: Int
        public let running: Int
        public let refused: Int
        public let completed: Int
    }

    public init(parameters: Parameters = .owasp, workers: Int = ProcessInfo.processInfo.activeProcessorCount, queueLimit: Int = 64) throws {
        self.parameters = parameters
        self.workers = max(1, workers)
        // Below the HTTP threads: a flood of wrong passwords must not starve the API.
        queue = WorkQueue(name: "argon2", threads: self.workers, limit: queueLimit, niceness: 10)
        // Each hash's memory goes back to the system once it is done (see the shim).
        _ = tenantry_return_large_blocks()
        decoy = try Self.hashNow(Secrets.token("decoy"), parameters: parameters)
    }

    /// Ends the hashing threads once the hashes queued have run.
    public func stop() {
        queue.stop()
    }

    /// The most memory the pool's hashes can hold at once.
    public var memoryCeilingKiB: Int { workers * Int(parameters.memoryKiB) }

    public var statistics: Statistics {
        let queued = queue.statistics
        return Statistics(waiting: queued.waiting, running: queued.running, refused: queued.refused, completed: queued.completed)
    }

    /// Checks the policy on passwords: 8 to 128 characters.
    public static func validate(_ password: String, field: String = "password") throws {
        let length = password.count
        guard length >= minimumPasswordLength else {
            throw DomainError.invalidArgument("\(field) must be at least \(minimumPasswordLength) characters")
        }
        guard length <= maximumPasswordLength else {
            throw DomainError.invalidArgument("\(field) must be at most \(maximumPasswordLength) characters")
        }
    }

    /// The refusal (code 8) while the queue is full, else nil: routes that hash ask before
    /// their work is queued, so a flood of logins never queues work behind the hashes.
    public func refusal() -> DomainError? {
        queue.refusesNewWork() ? Self.busy : nil
    }

    /// The Retry-After of a refused hash.
    public static let retryAfterSeconds = 1
    private static let busy = DomainError.resourceExhausted("too many password checks in progress; retry shortly", retryAfterSeconds: retryAfterSeconds)

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password`.
    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await run { try Self.hashNow(password, parameters: parameters) }
    }

    /// Whether `password` matches `phc`; a nil `phc` is checked against a decoy and fails.
    public func verify(_ password: String, against phc: String?) async throws -> Bool {
        let target = phc ?? decoy
        let matches = try await run { Self.verifyNow(password, phc: target) }
        return phc != nil && matches
    }

    /// True when `phc` was made with other parameters than the current ones.
    public func needsRehash(_ phc: String) -> Bool {
        let expected = "$argon2id$v=19$m=\(parameters.memoryKiB),t=\(parameters.iterations),p=\(parameters.parallelism)$"
        return !phc.hasPrefix(expected)
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await queue.run(refusal: Self.busy, body)
    }

    private static func hashNow(_ password: String, parameters: Parameters) throws -> String {
        let salt = Secrets.randomBytes(16)
        let hashLength = 32
        let length = argon2_encodedlen(parameters.iterations, parameters.memoryKiB, parameters.parallelism, UInt32(salt.count), UInt32(hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let bytes = Array(password.utf8)
        let status = argon2id_hash_encoded(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism,
            bytes, bytes.count, salt, salt.count, hashLength, &encoded, length
        )
        guard status == ARGON2_OK.rawValue else {
            throw DomainError.internalError("argon2id failed: \(String(cString: argon2_error_message(status)))")
        }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func verifyNow(_ password: String, phc: String) -> Bool {
        let bytes = Array(password.utf8)
        return argon2id_verify(phc, bytes, bytes.count) == ARGON2_OK.rawValue
    }
}
