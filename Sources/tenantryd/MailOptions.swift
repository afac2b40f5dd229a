import ArgumentParser
import Foundation
import TenantryCore

/// How the daemon sends email: `serve`'s mail flags, each also from TENANTRY_*.
struct MailOptions: ParsableArguments {
    @Option(name: .long, help: "log (the default: emails are logged and readable in the outbox) or smtp (TENANTRY_MAIL_TRANSPORT).")
    var mailTransport: String = Environment.string("mail-transport", "log")

    @Option(name: .long, help: "smtp://host:587 (STARTTLS) or smtps://host:465 (TLS) (TENANTRY_SMTP_URL).")
    var smtpURL: String = Environment.string("smtp-url", "")

    @Option(name: .long, help: "required (the default: never send where STARTTLS is not offered) or off (TENANTRY_SMTP_STARTTLS).")
    var smtpStarttls: String = Environment.string("smtp-starttls", "required")

    @Option(name: .long, help: "The SMTP user for AUTH, if the server wants one (TENANTRY_SMTP_USER).")
    var smtpUser: String = Environment.string("smtp-user", "")

    @Option(name: .long, help: "A file holding the SMTP password; no flag takes the password itself (TENANTRY_SMTP_PASSWORD_FILE).")
    var smtpPasswordFile: String = Environment.string("smtp-password-file", "")

    @Option(name: .long, help: "A PEM bundle of CAs to trust for the SMTP server instead of the system's (TENANTRY_SMTP_CA_FILE).")
    var smtpCaFile: String = Environment.string("smtp-ca-file", "")

    @Option(name: .long, help: "Seconds for the SMTP connection and the whole exchange (TENANTRY_SMTP_TIMEOUT_SECONDS).")
    var smtpTimeoutSeconds: Int = Environment.int("smtp-timeout-seconds", 30)

    @Option(name: .long, help: "The sender, e.g. \"Acme <no-reply@acme.example>\" (TENANTRY_MAIL_FROM).")
    var mailFrom: String = Environment.string("mail-from", "Tenantry <tenantry@localhost>")

    func validate() throws { _ = try settings() }

    /// The settings these flags describe; the password comes from its file.
    func settings() throws -> MailSettings {
        var settings = MailSettings()
        do {
            settings.from = try MailAddress(parsing: mailFrom)
        } catch {
            throw ValidationError("--mail-from must be an address or \"Name <address>\": \(mailFrom)")
        }
        switch mailTransport {
        case "log":
            return settings
        case "smtp":
            break
        default:
            throw ValidationError("--mail-transport must be log or smtp")
        }
        var smtp: SMTPSettings
        do { smtp = try SMTPSettings(url: smtpURL) } catch let error as DomainError { throw ValidationError(error.message) }
        guard ["required", "off"].contains(smtpStarttls) else { throw ValidationError("--smtp-starttls must be required or off") }
        guard (1...600).contains(smtpTimeoutSeconds) else { throw ValidationError("--smtp-timeout-seconds must be between 1 and 600") }
        smtp.requireTLS = smtpStarttls == "required"
        smtp.user = smtpUser
        smtp.timeoutSeconds = smtpTimeoutSeconds
        if !smtpCaFile.isEmpty {
            guard FileManager.default.isReadableFile(atPath: smtpCaFile) else { throw ValidationError("--smtp-ca-file \(smtpCaFile) cannot be read") }
            smtp.caFile = smtpCaFile
        }
        if !smtpPasswordFile.isEmpty {
            guard let password = try? String(contentsOfFile: smtpPasswordFile, encoding: .utf8) else {
                throw ValidationError("--smtp-password-file \(smtpPasswordFile) cannot be read")
            }
            smtp.password = password.trimmingCharacters(in: .newlines)
        }
        guard smtp.user.isEmpty == smtp.password.isEmpty else { throw ValidationError("--smtp-user and --smtp-password-file go together") }
        settings.transport = .smtp(smtp)
        return settings
    }
}
