/// The daemon's tunables, with the defaults a fresh install runs with.
public struct Settings: Sendable {
    /// Where users reach the product: invite links and redirect URLs start with it.
    public var publicURL = "http://127.0.0.1:8080"
    /// A session ends after this long without use…
    public var sessionIdleSeconds: Int64 = 7 * 86_400
    /// …and after this long in any case.
    public var sessionLifetimeSeconds: Int64 = 30 * 86_400
    /// How long after its end a session token may still be exchanged for a new one.
    public var sessionRefreshWindowSeconds: Int64 = 7 * 86_400
    public var codeLifetimeSeconds: Int64 = 10 * 60
    public var codeAttempts = 5
    public var resetTokenLifetimeSeconds: Int64 = 15 * 60
    public var inviteLifetimeSeconds: Int64 = 7 * 86_400
    public var passwordHashing = PasswordHasher.Parameters.owasp
    public var hashingWorkers = 2
    public var hashingQueueLimit = 64
    /// Failed logins allowed per account and client address, per client address, and per
    /// account (from anywhere) within `loginWindowSeconds`.
    /// OpenID Connect providers users may sign in with (`--oidc-providers-file`).
    public var identityProviders: [IdentityProviderSettings] = []
    /// Operators must sign in with a second factor (`--operator-2fa required`).
    public var operatorTwoFactorRequired = false
    public var loginFailuresPerAccountAndClient = 5
    public var loginFailuresPerClient = 30
    public var loginFailuresPerAccount = 100
    public var loginWindowSeconds: Int64 = 15 * 60
    /// Codes sent (registration, reset) per address and per client, per hour.
    public var emailsPerAddressPerHour = 5
    public var emailsPerClientPerHour = 30

    /// The plan every new tenant starts on (a trial plan starts a trial).
    public var newTenantPlan = "NEW_USER_TRIAL"
    /// Days after a renewal's period start before an unpaid invoice makes it PAST_DUE…
    public var renewalGraceDays: Int64 = 3
    /// …and days of PAST_DUE before the subscription expires and the tenant falls to FREE.
    public var pastDueDays: Int64 = 7
    /// How long bought add-on credits stay valid.
    public var addonValidityDays: Int64 = 365
    /// How webhooks are delivered.
    public var webhooks = WebhookSettings()
    /// How email leaves the machine, and from whom.
    public var mail = MailSettings()
    /// How many items a timer handles in one transaction.
    public var timerBatchSize = 2000
    /// Where a payer goes to pay an invoice: `{invoice_id}`, `{tenant_id}`, `{amount}` and
    /// `{currency}` are filled in. Empty: the console's own invoice page (payments by hand).
    public var checkoutURL = ""
    /// Where a tenant owner manages billing (`{tenant_id}` is filled in). Empty: the console.
    public var billingPortalURL = ""
    /// Stripe as the payment provider; nil: invoices are paid by hand (or `checkoutURL`).
    public var stripe: StripeSettings?

    public init() {}
}

/// Stripe Checkout for invoices, and the webhook that confirms them.
public struct StripeSettings: Sendable {
    public var secretKey: String
    /// The endpoint's signing secrets (`whsec_…`): several while one rotates.
    public var webhookSecrets: [String]
    public var apiBase = "https://api.stripe.com"

    public init(secretKey: String, webhookSecrets: [String], apiBase: String = "https://api.stripe.com") {
        self.secretKey = secretKey
        self.webhookSecrets = webhookSecrets
        self.apiBase = apiBase
    }
}
