import Foundation
import Synchronization

/// An OpenID Connect provider as the operator configures it (`--oidc-providers-file`).
public struct IdentityProviderSettings: Sendable, Equatable {
    public var name: String
    public var displayName: String
    public var issuer: String
    public var clientId: String
    public var clientSecret: String
    public var scopes: [String]

    public init(name: String, displayName: String, issuer: String, clientId: String, clientSecret: String, scopes: [String]) {
        self.name = name
        self.displayName = displayName
        self.issuer = issuer
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.scopes = scopes
    }
}

/// The configured providers and what Tenantry learned from them: their endpoints (from
/// `/.well-known/openid-configuration`) and their keys (the JWKS, cached, fetched again on a
/// key id it does not know, at most once a minute). Shared by every service through the
/// context; the HTTPS calls run on threads of their own.
public final class IdentityProviders: Sendable {
    static let timeoutSeconds = 10
    static let refetchSeconds: Int64 = 60

    struct Endpoints: Sendable {
        let authorization: String
        let token: String
        let jwks: String
    }

    private struct Cache: Sendable {
        var endpoints: Endpoints?
        var keys: [JSONWebKey] = []
        var keysFetchedAt: Instant?
    }

    let providers: [String: IdentityProviderSettings]
    /// In the order the operator listed them, for the sign-in pages.
    let ordered: [IdentityProviderSettings]
    private let caches = Mutex<[String: Cache]>([:])
    private let queue: WorkQueue?

    init(settings: [IdentityProviderSettings]) {
        ordered = settings
        providers = Dictionary(settings.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        queue = settings.isEmpty ? nil : WorkQueue(name: "tenantry-oidc", threads: 2, limit: 64)
    }

    func provider(_ name: String) throws -> IdentityProviderSettings {
        guard let provider = providers[name] else { throw DomainError.notFound("no sign-in provider \(name)") }
        return provider
    }

    func endpoints(_ provider: IdentityProviderSettings) async throws -> Endpoints {
        if let known = caches.withLock({ $0[provider.name]?.endpoints }) { return known }
        let url = provider.issuer.trimmingSuffix("/") + "/.well-known/openid-configuration"
        guard case .object(let document) = try JSONValue.parse(try await get(url, from: provider)) else { throw unreachable(provider, "its discovery document is not a JSON object") }
        // The document must be the issuer's own (OpenID Connect Discovery §4.3).
        guard document["issuer"]?.string == provider.issuer else { throw unreachable(provider, "its discovery document names another issuer") }
        guard let authorization = document["authorization_endpoint"]?.string, let token = document["token_endpoint"]?.string, let jwks = document["jwks_uri"]?.string else {
            throw unreachable(provider, "its discovery document lacks an endpoint")
        }
        let endpoints = Endpoints(authorization: authorization, token: token, jwks: jwks)
        caches.withLock { $0[provider.name, default: Cache()].endpoints = endpoints }
        return endpoints
    }

    /// The key `id` of the provider, fetching the JWKS when it is not cached or not there.
    func key(_ id: String, of provider: IdentityProviderSettings, at now: Instant) async throws -> JSONWebKey? {
        let cached = caches.withLock { $0[provider.name] }
        if let key = cached?.keys.first(where: { $0.id == id }) { return key }
        if let fetched = cached?.keysFetchedAt, fetched.adding(seconds: Self.refetchSeconds) > now, !(cached?.keys.isEmpty ?? true) { return nil }
        let keys = try JSONWebKey.keys(fromJWKS: try await get(try await endpoints(provider).jwks, from: provider))
        caches.withLock {
            $0[provider.name, default: Cache()].keys = keys
            $0[provider.name, default: Cache()].keysFetchedAt = now
        }
        return keys.first { $0.id == id }
    }

    /// The token endpoint's answer to an authorization code (client_secret_basic, PKCE).
    func exchange(code: String, verifier: String, redirectURI: String, provider: IdentityProviderSettings) async throws -> [String: JSONValue] {
        let form = FormEncoding.encode([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier)])
        // RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined.
        let credentials = Data((FormEncoding.component(provider.clientId) + ":" + FormEncoding.component(provider.clientSecret)).utf8).base64EncodedString()
        let headers = ["Authorization: Basic \(credentials)", "Content-Type: application/x-www-form-urlencoded", "Accept: application/json"]
        let url = try await endpoints(provider).token
        let answer = try await call(url, headers: headers, body: Array(form.utf8), from: provider)
        guard case .object(let json)? = try? JSONValue.parse(answer.body) else { throw unreachable(provider, "its token endpoint answered HTTP \(answer.status) without JSON") }
        guard (200..<300).contains(answer.status) else {
            throw DomainError.invalidArgument("\(provider.displayName) refused the sign-in: \(json["error_description"]?.string ?? json["error"]?.string ?? "HTTP \(answer.status)")")
        }
        return json
    }

    private func get(_ url: String, from provider: IdentityProviderSettings) async throws -> [UInt8] {
        let answer = try await call(url, headers: ["Accept: application/json"], body: nil, from: provider)
        guard (200..<300).contains(answer.status) else { throw unreachable(provider, "\(url) answered HTTP \(answer.status)") }
        return answer.body
    }

    private func call(_ url: String, headers: [String], body: [UInt8]?, from provider: IdentityProviderSettings) async throws -> (status: Int, body: [UInt8]) {
        guard let queue else { throw DomainError.internalError("no identity provider is configured") }
        do {
            return try await queue.run(refusal: DomainError.unavailable("too many sign-ins at once; retry shortly", retryAfterSeconds: 2)) {
                try CurlTransfer.call(url: url, headers: headers, body: body, timeoutSeconds: Self.timeoutSeconds)
            }
        } catch let failure as CurlTransfer.Failure {
            throw unreachable(provider, "\(failure)")
        }
    }

    private func unreachable(_ provider: IdentityProviderSettings, _ reason: String) -> DomainError {
        .unavailable("\(provider.displayName) cannot be reached for sign-in: \(reason)", retryAfterSeconds: 30)
    }

    func stop() { queue?.stop() }
}
