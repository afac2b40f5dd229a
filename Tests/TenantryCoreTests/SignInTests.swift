import Crypto
import Foundation
import Testing

@testable import TenantryCore

/// The ID token checks and the landing page rule of OpenID sign-in; the whole flow runs
/// against a local provider in Tests/integration/test_oidc.py.
@Suite("Sign-in with OpenID Connect: ID tokens and landing pages")
struct SignInTests {
    static let issuer = "https://idp.example.test"
    static let now = Instant(milliseconds: 1_800_000_000_000)

    /// An ES256 token signed by `key` with `claims`, and the JWKS entry of the key.
    func token(_ claims: [String: Any], key: P256.Signing.PrivateKey, kid: String = "k1", alg: String = "ES256") throws -> (String, JSONWebKey) {
        let header = try JSONSerialization.data(withJSONObject: ["alg": alg, "kid": kid, "typ": "JWT"])
        let body = try JSONSerialization.data(withJSONObject: claims)
        let signed = Base64URL.encode(header) + "." + Base64URL.encode(body)
        let signature = try key.signature(for: Data(signed.utf8)).rawRepresentation
        let jwk = JSONWebKey(id: kid, material: .p256(xy: Array(key.publicKey.rawRepresentation)))
        return (signed + "." + Base64URL.encode(signature), jwk)
    }

    func claims(_ changes: [String: Any] = [:]) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": Self.issuer, "aud": "client-1", "sub": "u-1", "nonce": "n-1", "email": "a@example.com", "email_verified": true,
            "exp": Self.now.milliseconds / 1000 + 300, "iat": Self.now.milliseconds / 1000,
        ]
        for (key, value) in changes { claims[key] = value }
        return claims
    }

    func verify(_ compact: String, _ key: JSONWebKey) throws {
        let token = try IDToken(compact: compact)
        try token.verifySignature(with: key)
        try token.verifyClaims(issuer: Self.issuer, clientId: "client-1", nonce: "n-1", now: Self.now)
    }

    @Test("a well-formed ES256 token passes; each claim that is off is refused, saying which")
    func claimsChecked() throws {
        let key = P256.Signing.PrivateKey()
        let (good, jwk) = try token(claims(), key: key)
        try verify(good, jwk)
        #expect(try IDToken(compact: good).emailVerified)
        let refusals: [([String: Any], String)] = [
            (["iss": "https://evil.example"], "issuer"), (["aud": "someone-else"], "aud"), (["aud": ["client-1", "other"]], "azp"),
            (["exp": Self.now.milliseconds / 1000 - 61], "expired"), (["iat": Self.now.milliseconds / 1000 + 61], "future"), (["nonce": "n-2"], "nonce"),
        ]
        for (change, word) in refusals {
            let (bad, badKey) = try token(claims(change), key: key)
            #expect(throws: IDToken.Refused.self, "\(change)") { try verify(bad, badKey) }
            do { try verify(bad, badKey) } catch { #expect("\(error)".contains(word), "\(error)") }
        }
        // Within the minute's skew, and several audiences with azp: accepted.
        let (skewed, skewKey) = try token(claims(["exp": Self.now.milliseconds / 1000 - 30, "aud": ["client-1", "other"], "azp": "client-1"]), key: key)
        try verify(skewed, skewKey)
    }

    @Test("a signature by another key, an unknown algorithm or a mangled token is refused")
    func signaturesChecked() throws {
        let (signed, _) = try token(claims(), key: P256.Signing.PrivateKey())
        let other = JSONWebKey(id: "k1", material: .p256(xy: Array(P256.Signing.PrivateKey().publicKey.rawRepresentation)))
        #expect(throws: IDToken.Refused.self) { try verify(signed, other) }
        let key = P256.Signing.PrivateKey()
        let (none, noneKey) = try token(claims(), key: key, alg: "none")
        #expect(throws: IDToken.Refused.self) { try verify(none, noneKey) }
        let (hs, hsKey) = try token(claims(), key: key, alg: "HS256")
        #expect(throws: IDToken.Refused.self) { try verify(hs, hsKey) }
        #expect(throws: IDToken.Refused.self) { try IDToken(compact: "a.b") }
        let parts = signed.split(separator: ".")
        let tampered = parts[0] + "." + Base64URL.encode(Array(#"{"iss":"x"}"#.utf8)) + "." + parts[2]
        #expect(throws: IDToken.Refused.self) { try verify(String(tampered), other) }
    }

    @Test("a JWKS yields the RSA and P-256 signing keys it holds and skips the rest")
    func jwks() throws {
        let ec = P256.Signing.PrivateKey().publicKey.rawRepresentation
        let document: [String: Any] = [
            "keys": [
                ["kty": "EC", "crv": "P-256", "kid": "ec", "x": Base64URL.encode(ec.prefix(32)), "y": Base64URL.encode(ec.suffix(32))],
                ["kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"], ["kty": "oct", "kid": "secret", "k": "c2VjcmV0"],
                ["kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": Base64URL.encode(ec.prefix(32)), "y": Base64URL.encode(ec.suffix(32))],
            ]
        ]
        let keys = try JSONWebKey.keys(fromJWKS: Array(try JSONSerialization.data(withJSONObject: document)))
        #expect(keys.map(\.id) == ["ec"])
        #expect(throws: IDToken.Refused.self) { try JSONWebKey.keys(fromJWKS: Array("[]".utf8)) }
    }

    @Test("the page to land on is a path on this site, never another host")
    func landing() throws {
        #expect(try SignInService.landing("") == "/portal")
        #expect(try SignInService.landing("/portal#/plans") == "/portal")
        #expect(try SignInService.landing("/#/tenants") == "/")
        for hostile in ["//evil.example/x", "https://evil.example", "/\\evil.example", "portal", "/a b", "/\u{0}"] {
            #expect(throws: DomainError.self, "\(hostile)") { try SignInService.landing(hostile) }
        }
    }
}
