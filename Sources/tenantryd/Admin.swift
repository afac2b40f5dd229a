import ArgumentParser
import Foundation
import TenantryCore

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manages operator accounts.", subcommands: [Create.self, SetPassword.self, CreateKey.self, RevokeKey.self, TwoFactorEnroll.self, TwoFactorConfirm.self, TwoFactorReset.self]
    )

    /// Runs `body` with the services over the database (one hashing worker: the command
    /// line hashes one password), closes it, and turns a domain error into a usage error.
    static func withApp(_ database: DatabaseOptions, _ body: (Tenantry) async throws -> Void) async throws {
        let logger = database.logger()
        var settings = Settings()
        settings.hashingWorkers = 1
        let app = try Tenantry(database: try database.open(create: true, logger: logger), settings: settings, logger: logger)
        defer { try? app.close() }
        do {
            try await body(app)
        } catch let error as DomainError {
            throw ValidationError(error.message)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Creates an operator account (or makes an existing user an operator).",
            discussion: "Without --password-stdin a strong password is generated and printed once."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var credentials: OperatorCredentials

        @Flag(name: .long, help: "Do nothing if an operator account already exists.")
        var ifMissing = false

        func run() async throws {
            try await Admin.withApp(database) { app in
                if ifMissing, try app.accounts.hasOperator() {
                    print("an operator account already exists; nothing to do")
                    return
                }
                let (password, generated) = try credentials.password()
                let created = try await app.accounts.createOperator(email: credentials.email, password: password)
                print(created.promoted ? "made \(created.user.email) an operator" : "created operator \(created.user.email)")
                if generated { print("password: \(password)  (shown once; change it after logging in)") }
            }
        }
    }
}

extension Admin {
    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Sets an operator's password and ends their sessions.",
            discussion: "Without --password-stdin a strong password is generated and printed once."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var credentials: OperatorCredentials

        func run() async throws {
            try await Admin.withApp(database) { app in
                let (password, generated) = try credentials.password()
                try await app.accounts.setOperatorPassword(email: credentials.email, password: password)
                print("password of operator \(credentials.email.lowercased()) set; their sessions ended")
                if generated { print("password: \(password)  (shown once)") }
            }
        }
    }
}

extension Admin {
    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key",
            abstract: "Creates an operator API key (it passes wherever an operator session does); prints it once."
        )

        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "What the key is for, e.g. billing-sync.")
        var name: String

        func run() async throws {
            try await Admin.withApp(database) { app in
                let created = try await app.apiKeys.createOperatorKey(name: name, by: AuditActor(id: nil, email: "cli"))
                print("created operator key \(created.key.id) (\(created.key.name))")
                print("key: \(created.plaintext)  (shown once)")
            }
        }
    }
}

extension Admin {
    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-key", abstract: "Revokes an API key (operator or tenant) at once.")

        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "The key's id (key_…), as create-key or the console shows it.")
        var id: String

        func run() async throws {
            try await Admin.withApp(database) { app in
                try await app.apiKeys.revoke(id: id, tenantId: nil, by: AuditActor(id: nil, email: "cli"))
                print("revoked \(id)")
            }
        }
    }
}

extension Admin {
    /// The operator a second-factor command is about.
    struct OperatorEmail: ParsableArguments {
        @Option(name: .long, help: "The operator's email.")
        var email: String
    }

    struct TwoFactorEnroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "2fa-enroll", abstract: "Starts an operator's second factor: prints the otpauth:// URI and secret for an authenticator app.",
            discussion: "Then run 2fa-confirm with the code the app shows. Needed first when the daemon runs with --operator-2fa required.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: OperatorEmail

        func run() async throws {
            try await Admin.withApp(database) { app in
                let enrolment = try await app.twoFactor.enroll(operatorEmail: target.email)
                print("otpauth URI: \(enrolment.uri)")
                print("secret: \(enrolment.secret)")
                print("confirm with: tenantryd admin 2fa-confirm --email \(target.email) --code <the app's code>")
            }
        }
    }

    struct TwoFactorConfirm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "2fa-confirm", abstract: "Confirms an operator's second factor with a first code; prints the recovery codes once.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: OperatorEmail

        @Option(name: .long, help: "The code the authenticator app shows now.")
        var code: String

        func run() async throws {
            try await Admin.withApp(database) { app in
                let codes = try await app.twoFactor.confirm(operatorEmail: target.email, code: code)
                print("two-factor is on for \(target.email.lowercased()); recovery codes (each works once, shown once):")
                for code in codes { print("  \(code)") }
            }
        }
    }

    struct TwoFactorReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "2fa-reset", abstract: "Removes an operator's second factor (a lost device); audited.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: OperatorEmail

        func run() async throws {
            try await Admin.withApp(database) { app in
                try await app.twoFactor.reset(operatorEmail: target.email)
                print("second factor of \(target.email.lowercased()) removed; they sign in with their password and may enroll again")
            }
        }
    }
}

/// The operator an admin command is about, and where its password comes from.
struct OperatorCredentials: ParsableArguments {
    @Option(name: .long, help: "The operator's email address.")
    var email: String

    @Flag(name: .long, help: "Read the password from standard input (one line).")
    var passwordStdin = false

    /// The password from standard input, or a generated one (printed once by the caller).
    func password() throws -> (password: String, generated: Bool) {
        if passwordStdin {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
            return (line, false)
        }
        return (Secrets.token("pw").dropFirst(3).prefix(24).description, true)
    }
}
