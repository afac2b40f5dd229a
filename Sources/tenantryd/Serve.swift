import ArgumentParser
import Dispatch
import Foundation
import Logging
import TenantryAPI
import TenantryCore
import TenantryHTTP

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Runs the daemon: the JSON API, the console and the timers.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var mail: MailOptions
    @OptionGroup var payments: PaymentOptions
    @OptionGroup var signIn: SignInOptions

    @Option(name: .long, help: "Address and port to listen on, e.g. 127.0.0.1:8080 or [::1]:8080 (TENANTRY_LISTEN).")
    var listen: String = Environment.string("listen", "127.0.0.1:8080")

    @Option(name: .long, help: "The console's static files (TENANTRY_PUBLIC).")
    var `public`: String = Environment.string("public", "Public")

    @Option(name: .long, help: "Where users reach the product; invite links and redirects start with it (TENANTRY_PUBLIC_URL).")
    var publicURL: String = Environment.string("public-url", "")

    @Flag(name: .long, help: "Test mode: POST /v1/admin/clock/advance moves the daemon's clock forward, durably (TENANTRY_TEST_CLOCK=1).")
    var testClock = Environment.bool("test-clock")

    @Flag(name: .long, help: "Let webhooks reach loopback, private and link-local addresses; for tests and on-box receivers only (TENANTRY_WEBHOOKS_ALLOW_PRIVATE=1).")
    var webhooksAllowPrivate = Environment.bool("webhooks-allow-private")

    @Option(name: .long, help: "The plan new tenants start on (TENANTRY_NEW_TENANT_PLAN).")
    var newTenantPlan: String = Environment.string("new-tenant-plan", "NEW_USER_TRIAL")

    @Option(name: .customLong("operator-2fa"), help: "optional: operators may enroll a second factor; required: operators without one cannot log in (TENANTRY_OPERATOR_2FA).")
    var operatorTwoFactor: String = Environment.string("operator-2fa", "optional")

    @Option(name: .long, help: "Checkout URL for invoices, with {invoice_id} {tenant_id} {amount} {currency}; empty: the billing portal's invoice page (TENANTRY_CHECKOUT_URL).")
    var checkoutURL: String = Environment.string("checkout-url", "")

    @Option(name: .long, help: "Days after a renewal before an unpaid invoice makes the subscription PAST_DUE (TENANTRY_RENEWAL_GRACE_DAYS).")
    var renewalGraceDays: Int = Environment.int("renewal-grace-days", 3)

    @Option(name: .long, help: "Days of PAST_DUE before the subscription expires to FREE (TENANTRY_PAST_DUE_DAYS).")
    var pastDueDays: Int = Environment.int("past-due-days", 7)

    @Option(name: .long, help: "Reverse proxies whose X-Forwarded-For/X-Real-IP name the client: addresses or CIDRs, comma-separated; empty trusts none (TENANTRY_TRUSTED_PROXIES).")
    var trustedProxies: String = Environment.string("trusted-proxies", "127.0.0.1,::1")

    @Option(name: .long, help: "Emails with codes a client address may trigger per hour (TENANTRY_EMAILS_PER_CLIENT_PER_HOUR).")
    var emailsPerClientPerHour: Int = Environment.int("emails-per-client-per-hour", 30)

    @Option(name: .long, help: "HTTP polling threads; 0 means one per core (TENANTRY_THREADS).")
    var threads: Int = Environment.int("threads", 0)

    @Option(name: .long, help: "Idle seconds before a connection is closed (TENANTRY_CONNECTION_TIMEOUT).")
    var connectionTimeout: Int = Environment.int("connection-timeout", 30)

    @Option(name: .long, help: "The largest request body accepted, in bytes (TENANTRY_MAX_BODY_BYTES).")
    var maxBodyBytes: Int = Environment.int("max-body-bytes", 1 << 20)

    @Option(name: .long, help: "argon2id memory per hash, in KiB (TENANTRY_ARGON2_MEMORY_KIB).")
    var argon2MemoryKib: Int = Environment.int("argon2-memory-kib", Int(PasswordHasher.Parameters.owasp.memoryKiB))

    @Option(name: .long, help: "argon2id passes (TENANTRY_ARGON2_ITERATIONS).")
    var argon2Iterations: Int = Environment.int("argon2-iterations", Int(PasswordHasher.Parameters.owasp.iterations))

    @Option(name: .long, help: "argon2id lanes (TENANTRY_ARGON2_PARALLELISM).")
    var argon2Parallelism: Int = Environment.int("argon2-parallelism", Int(PasswordHasher.Parameters.owasp.parallelism))

    @Option(name: .long, help: "Password hashes run at once; 0 means one per core (TENANTRY_HASHING_WORKERS).")
    var hashingWorkers: Int = Environment.int("hashing-workers", 0)

    @Option(name: .long, help: "Password hashes that may wait; more are refused with code 8 (TENANTRY_HASHING_QUEUE).")
    var hashingQueue: Int = Environment.int("hashing-queue", 64)

    func validate() throws {
        guard (try? ListenAddress(listen)) != nil else { throw ValidationError("--listen must look like 127.0.0.1:8080 or [::1]:8080") }
        guard argon2MemoryKib >= 8 * argon2Parallelism, argon2Iterations >= 1, (1...16).contains(argon2Parallelism) else {
            throw ValidationError("argon2id needs iterations ≥ 1, parallelism 1…16 and memory ≥ 8 KiB per lane")
        }
        guard (try? TrustedProxies(trustedProxies)) != nil else {
            throw ValidationError("--trusted-proxies must list IP addresses or CIDR networks, e.g. 127.0.0.1,10.0.0.0/8")
        }
        guard emailsPerClientPerHour >= 1 else { throw ValidationError("--emails-per-client-per-hour must be at least 1") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        guard (0...365).contains(renewalGraceDays), (0...365).contains(pastDueDays) else {
            throw ValidationError("--renewal-grace-days and --past-due-days must be between 0 and 365")
        }
        guard threads >= 0, hashingWorkers >= 0, hashingQueue >= 0, connectionTimeout >= 1 else {
            throw ValidationError("--threads, --hashing-workers and --hashing-queue must not be negative; --connection-timeout must be at least 1")
        }
    }

    func run() async throws {
        // Catch SIGTERM/SIGINT before anything else, so a stop that comes early is clean too.
        let termination = TerminationSignal()
        let logger = database.logger()
        let address = try ListenAddress(listen)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var settings = Settings()
        settings.publicURL = publicURL.isEmpty ? "http://\(listen)" : publicURL
        settings.mail = try mail.settings()
        settings.webhooks.allowPrivate = webhooksAllowPrivate
        settings.passwordHashing = .init(memoryKiB: UInt32(argon2MemoryKib), iterations: UInt32(argon2Iterations), parallelism: UInt32(argon2Parallelism))
        settings.hashingWorkers = hashingWorkers == 0 ? cores : hashingWorkers
        settings.hashingQueueLimit = hashingQueue
        settings.newTenantPlan = newTenantPlan
        guard ["optional", "required"].contains(operatorTwoFactor) else { throw ValidationError("--operator-2fa is optional or required, not \(operatorTwoFactor)") }
        settings.operatorTwoFactorRequired = operatorTwoFactor == "required"
        settings.emailsPerClientPerHour = emailsPerClientPerHour
        settings.checkoutURL = checkoutURL
        settings.stripe = try payments.settings()
        settings.identityProviders = try signIn.providers()
        settings.renewalGraceDays = Int64(renewalGraceDays)
        settings.pastDueDays = Int64(pastDueDays)

        let db = try database.open(create: true, logger: logger)
        let clock: TestClock? = testClock ? try TestClock(database: db) : nil
        let app = try Tenantry(database: db, clock: clock ?? SystemClock(), settings: settings, logger: logger)
        guard try app.plans.list().contains(where: { $0.name == newTenantPlan }) else {
            throw ValidationError("--new-tenant-plan \(newTenantPlan) is not a plan")
        }
        let metrics = HTTPMetrics()
        let api = API(app: app, metrics: metrics, options: API.Options(publicDirectory: `public`, maximumBodyBytes: maxBodyBytes, testClock: clock))
        let server = Server(
            configuration: .init(
                host: address.host, port: address.port, threadPoolSize: threads == 0 ? cores : threads,
                connectionTimeoutSeconds: connectionTimeout, trustedProxies: try TrustedProxies(trustedProxies)
            ),
            router: api.router, metrics: metrics, logger: logger, renderError: API.errorRenderer(logger: logger)
        )
        try server.start()
        app.scheduler.start()

        let hashing = settings.passwordHashing
        let synchronousLevel = try db.synchronousLevel() == 2 ? "full" : "normal"
        logger.notice(
            "tenantryd \(TenantryVersion.current) serving on http://\(address.display(port: server.port))",
            metadata: [
                "db": "\(database.db)", "synchronous": "\(synchronousLevel)",
                "argon2id": "m=\(hashing.memoryKiB)KiB t=\(hashing.iterations) p=\(hashing.parallelism) × \(settings.hashingWorkers) workers, ≤ \(app.hasher.memoryCeilingKiB / 1024) MiB",
            ])
        if let clock {
            logger.warning("test clock on: POST /v1/admin/clock/advance moves time; the daemon's now is \(clock.now().rfc3339)")
        }
        if try !app.accounts.hasOperator() {
            logger.warning("no operator account yet: create one with `tenantryd admin create --email you@example.com --db \(database.db)`")
        }

        let notifier = SystemdNotifier()
        notifier.notify("READY=1\nSTATUS=serving on \(address.display(port: server.port))")
        let watchdog = notifier.watchdogInterval.map { interval in
            Task {
                while !Task.isCancelled {
                    // Pet the watchdog only while the database still answers.
                    // A full disk is not a hang: reads still serve, and a restart would not free it.
                    if (try? db.probe()) != nil { notifier.notify("WATCHDOG=1") }
                    try? await Task.sleep(for: interval)
                }
            }
        }

        let signal = await termination.wait()
        logger.notice("received \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); finishing requests in flight")
        notifier.notify("STOPPING=1")
        watchdog?.cancel()
        server.shutdown(timeout: .seconds(20))
        try await app.stop()
        logger.notice("stopped cleanly")
    }
}

/// SIGTERM and SIGINT, caught from the moment this is made until the process ends.
private final class TerminationSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var waiter: CheckedContinuation<Int32, Never>?
    private var sources: [DispatchSourceSignal] = []

    init() {
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in deliver(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// Answers the first signal, at once if it already came.
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let received {
                lock.unlock()
                continuation.resume(returning: received)
            } else {
                waiter = continuation
                lock.unlock()
            }
        }
    }

    private func deliver(_ number: Int32) {
        lock.lock()
        guard received == nil else {
            lock.unlock()
            return
        }
        received = number
        let waiting = waiter
        waiter = nil
        lock.unlock()
        waiting?.resume(returning: number)
    }
}

/// `host:port`, with IPv6 hosts in brackets.
struct ListenAddress {
    let host: String
    let port: UInt16

    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ValidationError("--listen needs host:port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen needs a host") }
        self.host = host
        self.port = port
    }

    func display(port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
