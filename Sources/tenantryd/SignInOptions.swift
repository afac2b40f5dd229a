import ArgumentParser
import Foundation
import TenantryCore

/// OpenID Connect providers for sign-in: `serve --oidc-providers-file`, a JSON file
///
///     {"providers": [{"name": "google", "display_name": "Google", "issuer": "https://accounts.google.com",
///                     "client_id": "…", "client_secret_file": "/etc/tenantry/google-secret", "scopes": ["openid", "email", "profile"]}]}
struct SignInOptions: ParsableArguments {
    @Option(name: .customLong("oidc-providers-file"), help: "A JSON file of OpenID Connect providers users may sign in with (TENANTRY_OIDC_PROVIDERS_FILE).")
    var providersFile: String = Environment.string("oidc-providers-file", "")

    func validate() throws { _ = try providers() }

    private struct File: Decodable {
        struct Provider: Decodable {
            let name: String
            let displayName: String?
            let issuer: String
            let clientId: String
            let clientSecretFile: String
            let scopes: [String]?

            enum CodingKeys: String, CodingKey {
                case name, issuer, scopes
                case displayName = "display_name"
                case clientId = "client_id"
                case clientSecretFile = "client_secret_file"
            }
        }
        let providers: [Provider]
    }

    func providers() throws -> [IdentityProviderSettings] {
        guard !providersFile.isEmpty else { return [] }
        guard let data = FileManager.default.contents(atPath: providersFile) else { throw ValidationError("--oidc-providers-file \(providersFile) cannot be read") }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch { throw ValidationError("--oidc-providers-file \(providersFile): \(error)") }
        var names = Set<String>()
        return try file.providers.map { provider in
            let name = provider.name
            guard (1...32).contains(name.count), name.utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }), names.insert(name).inserted
            else { throw ValidationError("--oidc-providers-file: provider names are 1 to 32 of a-z, 0-9 and -, each once (\"\(name)\")") }
            // The issuer is https; plain http only on this machine, for a test provider.
            guard let issuer = URL(string: provider.issuer), let host = issuer.host,
                issuer.scheme == "https" || (issuer.scheme == "http" && ["127.0.0.1", "localhost", "::1"].contains(host))
            else { throw ValidationError("--oidc-providers-file: \(name)'s issuer must be an https URL") }
            guard !provider.clientId.isEmpty else { throw ValidationError("--oidc-providers-file: \(name) has no client_id") }
            guard let secret = try? String(contentsOfFile: provider.clientSecretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty else {
                throw ValidationError("--oidc-providers-file: \(name)'s client_secret_file \(provider.clientSecretFile) cannot be read or is empty")
            }
            let scopes = provider.scopes ?? ["openid", "email", "profile"]
            guard scopes.contains("openid") else { throw ValidationError("--oidc-providers-file: \(name)'s scopes must include openid") }
            return IdentityProviderSettings(
                name: name, displayName: provider.displayName ?? name, issuer: provider.issuer, clientId: provider.clientId, clientSecret: secret, scopes: scopes)
        }
    }
}
