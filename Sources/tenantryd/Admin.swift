import ArgumentParser
import Foundation
import TenantryCore

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manages operator accounts.", subcommands: [Create.self])

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
            let logger = database.logger()
            let db = try database.open(create: true, logger: logger)
            defer { try? db.close() }
            var settings = Settings()
            settings.hashingWorkers = 1
            let app = try Tenantry(database: db, settings: settings, logger: logger)
            if ifMissing, try app.accounts.hasOperator() {
                print("an operator account already exists; nothing to do")
                return
            }
            let password: String
            let generated: Bool
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
                password = line
                generated = false
            } else {
                password = Secrets.token("pw").dropFirst(3).prefix(24).description
                generated = true
            }
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
