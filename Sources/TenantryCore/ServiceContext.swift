import Logging

/// What every service shares: the database, the clock, the settings and the security parts.
public struct ServiceContext: Sendable {
    public let database: AppDatabase
    public let clock: any TimeSource
    public let settings: Settings
    public let hasher: PasswordHasher
    public let mailer: Mailer
    public let payments: PaymentGateway
    public let identityProviders: IdentityProviders
    public let loginThrottle: LoginThrottle
    public let emailThrottle: EmailThrottle
    public let logger: Logger
    /// Sessions and API keys as last read; the writer's commits keep it true.
    let credentials = CredentialCache()

    public init(database: AppDatabase, clock: any TimeSource, settings: Settings, hasher: PasswordHasher, logger: Logger) {
        self.database = database
        self.clock = clock
        self.settings = settings
        self.hasher = hasher
        self.mailer = Mailer(settings: settings.mail, clock: clock, logger: logger)
        self.payments = PaymentGateway(settings: settings)
        self.identityProviders = IdentityProviders(settings: settings.identityProviders)
        self.loginThrottle = LoginThrottle(settings: settings, clock: clock)
        self.emailThrottle = EmailThrottle(settings: settings, clock: clock)
        self.logger = logger
        database.observeCommits(CredentialCache.Invalidation(credentials))
    }

    /// Checks a password guess for `email` under the login throttle (refused while the
    /// account or client is throttled); a wrong guess counts against both.
    func checkPassword(_ password: String, against phc: String?, email: String, client: String) async throws -> Bool {
        try loginThrottle.check(email: email, client: client)
        let matches = try await hasher.verify(password, against: phc)
        if !matches { loginThrottle.recordFailure(email: email, client: client) }
        return matches
    }

    func url(_ path: String) -> String {
        (settings.publicURL.hasSuffix("/") ? String(settings.publicURL.dropLast()) : settings.publicURL) + path
    }
}
