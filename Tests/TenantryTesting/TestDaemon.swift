import Foundation
import Logging
import TenantryAPI
import TenantryCore
import TenantryHTTP

/// A whole Tenantry on a loopback port: a temp database, a manual clock, cheap password
/// hashing, and a client that checks every JSON answer against the OpenAPI document.
public final class TestDaemon: Sendable {
    public let app: Tenantry
    public let clock: ManualClock
    public let api: API
    public let server: Server
    public let client: HTTPClient
    public let databasePath: String
    private let validator: SchemaValidator

    /// The repository's root, found from this file's path.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    public init(configure: (inout Settings) -> Void = { _ in }) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tenantry-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        databasePath = directory.appendingPathComponent("tenantry.sqlite").path
        var logger = Logger(label: "tenantry.test")
        logger.logLevel = .critical
        var settings = Settings()
        settings.passwordHashing = .init(memoryKiB: 64, iterations: 1, parallelism: 1)
        settings.hashingWorkers = 2
        settings.publicURL = "https://app.example.test"
        configure(&settings)
        clock = ManualClock(Instant(milliseconds: 1_800_000_000_000))
        let database = try AppDatabase(path: databasePath, logger: logger)
        app = try Tenantry(database: database, clock: clock, settings: settings, logger: logger)
        let metrics = HTTPMetrics()
        api = API(app: app, metrics: metrics, options: .init(publicDirectory: Self.repositoryRoot + "/Public"))
        server = Server(
            configuration: .init(host: "127.0.0.1", port: 0, threadPoolSize: 2, connectionTimeoutSeconds: 10),
            router: api.router, metrics: metrics, logger: logger, renderError: API.errorRenderer(logger: logger)
        )
        try server.start()
        client = HTTPClient(port: server.port)
        validator = SchemaValidator(document: api.openAPIDocument)
    }

    public func stop() {
        server.shutdown(timeout: .seconds(5))
        try? app.close()
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: databasePath).deletingLastPathComponent().path)
    }

    deinit { server.shutdown(timeout: .seconds(1)) }

    // MARK: - Calls

    /// Sends a request; a JSON answer must conform to the route's OpenAPI description
    /// (its success schema, or the error schema), else this throws.
    @discardableResult
    public func call(
        _ method: String, _ path: String, json body: JSON? = nil, token: String? = nil,
        headers: [(String, String)] = [], rawBody: [UInt8]? = nil, chunked: Bool = false
    ) async throws -> HTTPResponse {
        var allHeaders = headers
        if let token { allHeaders.append(("Authorization", "Bearer \(token)")) }
        var payload: [UInt8] = []
        if let body {
            payload = body.bytes
            allHeaders.append(("Content-Type", "application/json"))
        } else if let rawBody {
            payload = rawBody
        }
        let response = try await client.send(method, path, headers: allHeaders, body: payload, chunked: chunked)
        try checkConformance(method: method, path: path, response: response)
        return response
    }

    private func checkConformance(method: String, path: String, response: HTTPResponse) throws {
        guard response.header("content-type")?.hasPrefix("application/json") == true, method != "HEAD" else { return }
        let json = try response.json()
        let bare = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        var schema: JSON = ["$ref": "#/components/schemas/Error"]
        if (200..<300).contains(response.status) {
            guard case .found(let route, _) = api.router.match(method: method, path: bare) else {
                throw HTTPClientError(description: "\(method) \(path) answered \(response.status) but matches no route")
            }
            let documented = route.pattern.replacingOccurrences(of: "...}", with: "}")
            guard let success = api.openAPIDocument["paths"]?[documented]?[method.lowercased()]?["responses"]?["200"]?["content"]?["application/json"]?["schema"] else {
                return
            }
            schema = success
        }
        let problems = validator.problems(json, against: schema)
        guard problems.isEmpty else {
            throw HTTPClientError(description: "\(method) \(path) → \(response.status) does not conform to the OpenAPI document: \(problems.joined(separator: "; ")); body: \(response.text)")
        }
    }

    /// Calls and requires a 2xx answer; answers its JSON.
    @discardableResult
    public func ok(_ method: String, _ path: String, json body: JSON? = nil, token: String? = nil) async throws -> JSON {
        let response = try await call(method, path, json: body, token: token)
        guard (200..<300).contains(response.status) else {
            throw HTTPClientError(description: "\(method) \(path) answered \(response.status): \(response.text)")
        }
        return try response.json()
    }

    // MARK: - Scenarios

    /// The newest 6-digit code emailed to `email`.
    public func latestCode(for email: String) throws -> String {
        guard let body = try app.outbox(recipient: email).first?.body,
            let range = body.range(of: "[0-9]{6}", options: .regularExpression)
        else { throw HTTPClientError(description: "no code emailed to \(email)") }
        return String(body[range])
    }

    /// The newest invitation link emailed to `email`.
    public func latestInviteToken(for email: String) throws -> String {
        guard let body = try app.outbox(recipient: email).first?.body,
            let range = body.range(of: "tni_[A-Za-z0-9_-]+", options: .regularExpression)
        else { throw HTTPClientError(description: "no invitation emailed to \(email)") }
        return String(body[range])
    }

    /// Registers, verifies and initializes a user over HTTP; answers their session token.
    public func signUp(_ email: String, password: String = "correct horse battery") async throws -> String {
        let registration = try await ok("POST", "/v1/account/register", json: ["email": .string(email)])
        let verified = try await ok(
            "POST", "/v1/account/register/verify",
            json: [
                "email": .string(email), "code": .string(try latestCode(for: email)), "token": registration["token"]!,
            ])
        let initialized = try await ok("POST", "/v1/user/initial", json: ["password": .string(password)], token: verified["token"]?.stringValue)
        return initialized["token"]!.stringValue!
    }

    /// An operator account, logged in; answers its session token.
    /// A signed-up user's session and the personal tenant they own.
    public func owner(_ email: String = "own@example.com") async throws -> (session: String, tenantId: String) {
        let session = try await signUp(email)
        return (session, try await ok("GET", "/v1/user/tenants/current", token: session)["tenant"]!["id"]!.stringValue ?? "")
    }

    /// A new API key of the session's current tenant.
    public func apiKey(_ session: String, scopes: [JSON] = ["usage.read", "usage.write"]) async throws -> (id: String, secret: String) {
        let created = try await ok("POST", "/v1/tenant/api-keys", json: ["name": "chat service", "scopes": .array(scopes)], token: session)
        return (created["api_key"]!["id"]!.stringValue ?? "", created["plaintext_key"]!.stringValue ?? "")
    }

    public func operatorToken(_ email: String = "operator@example.test", password: String = "operator password") async throws -> String {
        if try !app.accounts.hasOperator() {
            _ = try await app.accounts.createOperator(email: email, password: password)
        }
        return try await ok("POST", "/v1/account/login", json: ["email": .string(email), "password": .string(password)])["token"]!.stringValue!
    }
}
