import Logging

/// What every service shares: the database, the clock, the settings and the security parts.
public struct ServiceContext: Sendable {
    public let database: AppDatabase
    public let clock: any Clock
    public let settings: Settings
    public let hasher: PasswordHasher
    public let mailer: Mailer
    public let loginThrottle: LoginThrottle
    public let emailThrottle: EmailThrottle
    public let logger: Logger

    public init(database: AppDatabase, clock: any Clock, settings: Settings, hasher: PasswordHasher, logger: Logger) {
        self.database = database
        self.clock = clock
        self.settings = settings
        self.hasher = hasher
        self.mailer = Mailer(clock: clock, logger: logger)
        self.loginThrottle = LoginThrottle(settings: settings, clock: clock)
        self.emailThrottle = EmailThrottle(settings: settings, clock: clock)
        self.logger = logger
    }

    func url(_ path: String) -> String {
        (settings.publicURL.hasSuffix("/") ? String(settings.publicURL.dropLast()) : settings.publicURL) + path
    }
}
