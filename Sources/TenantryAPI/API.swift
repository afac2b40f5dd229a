import Logging
import TenantryCore
import TenantryHTTP

/// The whole HTTP API of Tenantry over one `Tenantry`: its routes, their OpenAPI
/// document, and the error renderer.
public struct API: Sendable {
    public struct Options: Sendable {
        public var publicDirectory: String
        /// The largest request body a route accepts unless it says otherwise.
        public var maximumBodyBytes: Int
        public var version: String
        /// The test clock, in test mode only: it adds POST /v1/admin/clock/advance.
        public var testClock: TestClock?

        public init(publicDirectory: String = "Public", maximumBodyBytes: Int = 1 << 20, version: String = TenantryVersion.current, testClock: TestClock? = nil) {
            self.publicDirectory = publicDirectory
            self.maximumBodyBytes = maximumBodyBytes
            self.version = version
            self.testClock = testClock
        }
    }

    public let endpoints: [Endpoint]
    public let router: Router
    /// The OpenAPI 3.1 document of every endpoint, as served.
    public let openAPIDocument: JSON

    public init(app: Tenantry, metrics: HTTPMetrics, options: Options) {
        let gate = Gate(app: app)
        let builder = RouteBuilder(app: app, metrics: metrics, options: options)
        var endpoints =
            builder.accountEndpoints + builder.userEndpoints + builder.tenantEndpoints + builder.apiKeyEndpoints
            + builder.subscriptionEndpoints + builder.usageEndpoints + builder.creditEndpoints + builder.adminEndpoints + builder.revenueEndpoints + builder.webhookEndpoints + builder.paymentEndpoints
            + builder.platformEndpoints + builder.twoFactorEndpoints + builder.signInEndpoints
            + builder.serviceEndpoints
        func documentEndpoint(_ handler: Endpoint.Action) -> Endpoint {
            Endpoint(
                "GET", "/v1/openapi.json", operationId: "OpenAPIDocument", summary: "This API as an OpenAPI 3.1 document.", access: .everyone,
                answer: .json(.empty), handler: handler
            )
        }
        let document = OpenAPIDocument.build(endpoints + [documentEndpoint(.inline { _, _ in .empty })], version: options.version)
        let documentBytes = document.bytes
        endpoints.append(documentEndpoint(.inline { _, _ in .json(documentBytes) }))
        var router = Router(defaultBodyLimit: options.maximumBodyBytes)
        for endpoint in endpoints {
            router.add(endpoint.method, endpoint.path, bodyLimit: endpoint.bodyLimit, endpoint.routed(through: gate))
        }
        self.endpoints = endpoints
        self.router = router
        self.openAPIDocument = document
    }

    public static func errorRenderer(logger: Logger) -> Server.ErrorRenderer {
        ErrorResponses.renderer(logger: logger)
    }
}

/// What each feature's routes are built from.
struct RouteBuilder: Sendable {
    let app: Tenantry
    let metrics: HTTPMetrics
    let options: API.Options
}

public enum TenantryVersion {
    public static let current = "0.1.0"
}
