import GRDB
import Logging

/// The product's services over one database, wired once per daemon (or test).
public final class Tenantry: Sendable {
    public let context: ServiceContext
    public let accounts: AccountService
    public let twoFactor: TwoFactorService
    public let signIn: SignInService
    public let tenants: TenantService
    public let plans: PlanService
    public let subscriptions: SubscriptionService
    public let coupons: CouponService
    public let credits: CreditService
    public let apiKeys: ApiKeyService
    public let admin: AdminService
    public let webhooks: WebhookService
    public let payments: PaymentService
    public let scheduler: Scheduler

    public var database: AppDatabase { context.database }
    public var clock: any TimeSource { context.clock }
    public var settings: Settings { context.settings }
    public var mailer: Mailer { context.mailer }
    public var hasher: PasswordHasher { context.hasher }

    public init(database: AppDatabase, clock: any TimeSource = SystemClock(), settings: Settings = Settings(), logger: Logger = Logger(label: "tenantry")) throws {
        let hasher = try PasswordHasher(parameters: settings.passwordHashing, workers: settings.hashingWorkers, queueLimit: settings.hashingQueueLimit)
        context = ServiceContext(database: database, clock: clock, settings: settings, hasher: hasher, logger: logger)
        accounts = AccountService(context: context)
        twoFactor = TwoFactorService(context: context)
        signIn = SignInService(context: context)
        tenants = TenantService(context: context)
        plans = PlanService(context: context)
        subscriptions = SubscriptionService(context: context)
        coupons = CouponService(context: context)
        credits = CreditService(context: context)
        apiKeys = ApiKeyService(context: context)
        admin = AdminService(context: context)
        webhooks = WebhookService(context: context)
        payments = PaymentService(context: context)
        // Order matters when catching up: a trial ends before FREE's allowances are granted,
        // and grants are made before the expiry sweep looks at them.
        scheduler = Scheduler(jobs: BillingTimers.jobs(context) + Housekeeping.jobs(context, webhooks: webhooks), database: database, clock: clock, logger: logger)
    }

    /// Stops the timers, then closes.
    public func stop() async throws {
        await scheduler.stop()
        try close()
    }

    /// Lets queued hashes and writes finish, ends their threads and closes the database.
    public func close() throws {
        hasher.stop()
        mailer.stop()
        webhooks.stop()
        context.payments.stop()
        context.identityProviders.stop()
        try database.close()
    }

    /// The emails in the outbox, newest first, with secrets filled while they are valid.
    public func outbox(limit: Int = 100, recipient: String? = nil) throws -> [(email: OutboxEmail, body: String)] {
        try database.read { db in
            var request = OutboxEmail.order(OutboxEmail.Columns.createdAt.desc, OutboxEmail.Columns.rowid.desc).limit(limit)
            if let recipient { request = request.filter(OutboxEmail.Columns.recipient == recipient.lowercased()) }
            return try request.fetchAll(db).map { ($0, self.mailer.render($0)) }
        }
    }
}
