/// The emails Tenantry sends.
enum Emails {
    static func registrationCode(minutes: Int64) -> Email {
        Email(
            subject: "Your Tenantry verification code",
            body: """
                Your verification code is \(Mailer.secretPlaceholder).

                It is valid for \(minutes) minutes. If you did not ask to sign up, ignore this email.
                """
        )
    }

    static func alreadyRegistered(loginURL: String) -> Email {
        Email(
            subject: "You already have a Tenantry account",
            body: """
                Someone (hopefully you) tried to sign up with this email address, but it already has an account.

                Log in at \(loginURL), or reset your password there if you forgot it. If this was not you, ignore this email.
                """
        )
    }

    static func passwordResetCode(minutes: Int64) -> Email {
        Email(
            subject: "Your Tenantry password reset code",
            body: """
                Your password reset code is \(Mailer.secretPlaceholder).

                It is valid for \(minutes) minutes. If you did not ask to reset your password, ignore this email: your password stays as it is.
                """
        )
    }

    static func passwordChanged() -> Email {
        Email(
            subject: "Your Tenantry password was changed",
            body: """
                The password of your Tenantry account was just changed, and your other sessions were logged out.

                If this was not you, reset your password now and contact your administrator.
                """
        )
    }

    static func invitation(tenantName: String, inviterName: String, role: String, days: Int64) -> Email {
        Email(
            subject: "\(inviterName) invited you to \(tenantName) on Tenantry",
            body: """
                \(inviterName) invited you to join \(tenantName) as \(role).

                Accept the invitation here: \(Mailer.secretPlaceholder)

                The link works once and expires in \(days) days.
                """
        )
    }

    static func webhookDisabled(name: String, url: String, error: String) -> Email {
        Email(
            subject: "Tenantry disabled the webhook \(name)",
            body: """
                The webhook \(name) (\(url)) has failed for five days without a single success, so Tenantry stopped sending to it.

                The last error was: \(error)

                Its deliveries are kept: fix the endpoint, turn the webhook back on in the console, and redeliver what it missed.
                """
        )
    }

    static func creditsAlert(tenantName: String, category: String, threshold: AlertThreshold, available: Int64, allowance: Int64) -> Email {
        let depleted = threshold.event == "credits.depleted"
        let reached =
            threshold.percent > 0
            ? "\(threshold.percent)% of this period's allowance of \(allowance) is used"
            : "the balance reached your alert level of \(threshold.remaining)"
        return Email(
            subject: depleted ? "\(tenantName) has run out of \(category) credits" : "\(tenantName) is running low on \(category) credits",
            body: """
                \(tenantName) has \(available) \(category) credits left: \(reached).

                \(depleted ? "Requests that need credits are refused until more are granted: " : "To avoid running out, ")upgrade the plan or buy an add-on. An owner or admin can change these alerts, or turn their emails off, in the tenant's settings.
                """
        )
    }
}
