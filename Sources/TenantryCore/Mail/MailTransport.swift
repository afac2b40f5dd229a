import CCurl
import Foundation
import Logging

/// How mail leaves: `log` (the default: nothing leaves, the outbox is the inbox) or SMTP.
public struct MailSettings: Sendable {
    public enum Transport: Sendable {
        case log
        case smtp(SMTPSettings)
    }

    public var transport: Transport = .log
    public var from = MailAddress.defaultSender
    public var retry = RetryPolicy.mail
    /// Emails sent at once, each on a delivery thread of its own.
    public var concurrency = 2

    public init() {}
}

public struct SMTPSettings: Sendable {
    /// `smtp://host:587` (STARTTLS) or `smtps://host:465` (TLS from the start).
    public var url: String
    /// Refuse to send where the server offers no STARTTLS (on smtp:// URLs).
    public var requireTLS = true
    public var user = ""
    public var password = ""
    /// A PEM bundle of the CAs to trust instead of the system's.
    public var caFile = ""
    /// For the connection and the whole exchange.
    public var timeoutSeconds = 30

    public init(url: String) throws {
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://"), URL(string: url)?.host?.isEmpty == false else {
            throw DomainError.invalidArgument("--smtp-url must look like smtp://host:587 or smtps://host:465")
        }
        self.url = url
    }
}

/// Sends one message; blocks its thread, so it runs on delivery threads only.
protocol MailTransport: Sendable {
    func send(_ message: MailMessage) -> DeliveryOutcome
}

/// Logs each email's metadata (never its body, which may hold a secret).
struct LogTransport: MailTransport {
    let logger: Logger

    func send(_ message: MailMessage) -> DeliveryOutcome {
        logger.info("email sent (log transport)", metadata: ["to": "\(message.to)", "subject": "\(message.subject)", "message_id": "\(message.messageId)"])
        return .delivered
    }
}

/// SMTP through libcurl: STARTTLS (required unless turned off) or implicit TLS, AUTH when a
/// user is set. A 5xx reply is permanent; a 4xx, a refused or dropped connection and a
/// timeout are worth a retry.
struct SMTPTransport: MailTransport {
    let settings: SMTPSettings

    func send(_ message: MailMessage) -> DeliveryOutcome {
        do {
            let transfer = try CurlTransfer()
            try transfer.set(CURLOPT_URL, settings.url)
            if settings.url.hasPrefix("smtp://") {
                // Not required still means STARTTLS whenever the server offers it.
                try transfer.set(CURLOPT_USE_SSL, settings.requireTLS ? Int(CURLUSESSL_ALL.rawValue) : Int(CURLUSESSL_TRY.rawValue))
            }
            if !settings.user.isEmpty {
                try transfer.set(CURLOPT_USERNAME, settings.user)
                try transfer.set(CURLOPT_PASSWORD, settings.password)
            }
            if !settings.caFile.isEmpty { try transfer.set(CURLOPT_CAINFO, settings.caFile) }
            try transfer.set(CURLOPT_CONNECTTIMEOUT, settings.timeoutSeconds)
            try transfer.set(CURLOPT_TIMEOUT, settings.timeoutSeconds)
            try transfer.set(CURLOPT_MAIL_FROM, "<\(message.from.address)>")
            try transfer.set(CURLOPT_MAIL_RCPT, list: ["<\(message.to)>"])
            try transfer.set(CURLOPT_UPLOAD, 1)
            try transfer.setUpload(message.bytes)
            try transfer.perform()
            return .delivered
        } catch let failure as CurlTransfer.Failure {
            return Self.classify(failure)
        } catch {
            return .transient("\(error)")
        }
    }

    static func classify(_ failure: CurlTransfer.Failure) -> DeliveryOutcome {
        let reply = failure.responseCode
        // Only a refusal's code says anything; a 220 is merely the last greeting before a TLS error.
        let described = reply >= 400 ? "SMTP \(reply): \(failure)" : "\(failure)"
        if failure.code == CURLE_USE_SSL_FAILED {
            return .transient("the server offers no STARTTLS and --smtp-starttls is required: \(failure)")
        }
        if failure.code == CURLE_LOGIN_DENIED { return .permanent("the SMTP server refused the login (\(described))") }
        if (500..<600).contains(reply) { return .permanent(described) }
        if failure.timedOut { return .transient("timed out: \(failure)") }
        return .transient(described)
    }
}
