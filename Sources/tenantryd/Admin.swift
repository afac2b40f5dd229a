import ArgumentParser
import Foundation
import TenantryCore

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manages operator accounts.", subcommands: [Create.self, SetPassword.self, CreateKey.self])

    /// The password from standard input, or a generated one (printed once by the caller).
    static func password(fromStdin: Bool) throws -> (password: String, generated: Bool) {
        if fromStdin {
            guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
            return (line, false)
        }
        return (Secrets.token("pw").dropFirst(3).prefix(24).description, true)
    }

    /// The services over the database, with one hashing worker: the CLI hashes one password.
    static func app(_ database: DatabaseOptions) throws -> Tenantry {
        let logger = database.logger()
        var settings = Settings()
        settings.hashingWorkers = 1
        return try Tenantry(database: try database.open(create: true, logger: logger), settings: settings, logger: logger)
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Creates an operator account (or makes an existing user an operator).",
            discussion: "Without --password-stdin a strong password is generated and printed once."
        )

        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "The operator's email address.")
        var email: String

        @Flag(name: .long, help: "Read the password from standard input (one line).")
        var passwordStdin = false

        @Flag(name: .long, help: "Do nothing if an operator account already exists.")
        var ifMissing = false

        func run() async throws {
            let app = try Admin.app(database)
            defer { try? app.database.close() }
            if ifMissing, try app.accounts.hasOperator() {
                print("an operator account already exists; nothing to do")
                return
            }
            let (password, generated) = try Admin.password(fromStdin: passwordStdin)
            do {
                let created = try await app.accounts.createOperator(email: email, password: password)
                print(created.promoted ? "made \(created.user.email) an operator" : "created operator \(created.user.email)")
                if generated { print("password: \(password)  (shown once; change it after logging in)") }
            } catch let error as DomainError {
                throw ValidationError(error.message)
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

        @Option(name: .long, help: "The operator's email address.")
        var email: String

        @Flag(name: .long, help: "Read the password from standard input (one line).")
        var passwordStdin = false

        func run() async throws {
            let app = try Admin.app(database)
            defer { try? app.database.close() }
            let (password, generated) = try Admin.password(fromStdin: passwordStdin)
            do {
                try await app.accounts.setOperatorPassword(email: email, password: password)
                print("password of operator \(email.lowercased()) set; their sessions ended")
                if generated { print("password: \(password)  (shown once)") }
            } catch let error as DomainError {
                throw ValidationError(error.message)
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
            let app = try Admin.app(database)
            defer { try? app.database.close() }
            do {
                let created = try await app.apiKeys.createOperatorKey(name: name, by: Actor(id: nil, email: "cli"))
                print("created operator key \(created.key.id) (\(created.key.name))")
                print("key: \(created.plaintext)  (shown once; revoke it by id from the console)")
            } catch let error as DomainError {
                throw ValidationError(error.message)
            }
        }
    }
}
