import Crypto
import Foundation
import _CryptoExtras

/// An OpenID Connect ID token (a JWS in compact form) and its verification: the signature by
/// one of the provider's keys (RS256 or ES256), then iss, aud, azp, exp, iat and nonce.
struct IDToken: Sendable {
    let keyId: String
    let algorithm: String
    let claims: [String: JSONValue]
    /// `header.payload`, what the signature covers.
    let signedPart: [UInt8]
    let signature: [UInt8]

    var subject: String { claims["sub"]?.string ?? "" }
    var email: String { claims["email"]?.string ?? "" }
    var emailVerified: Bool { claims["email_verified"]?.bool ?? false }
    var name: String { claims["name"]?.string ?? "" }

    struct Refused: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    init(compact: String) throws {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2]) else {
            throw Refused("the ID token is not a compact JWS")
        }
        guard case .object(let head)? = try? JSONValue.parse(header), case .object(let body)? = try? JSONValue.parse(payload) else {
            throw Refused("the ID token's header or claims are not JSON objects")
        }
        keyId = head["kid"]?.string ?? ""
        algorithm = head["alg"]?.string ?? ""
        claims = body
        signedPart = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        self.signature = signature
    }

    /// Checks the signature with `key` (from the provider's JWKS, matched by kid).
    func verifySignature(with key: JSONWebKey) throws {
        switch (algorithm, key.material) {
        case ("RS256", .rsa(let n, let e)):
            guard let publicKey = try? _RSA.Signing.PublicKey(n: n, e: e),
                publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signedPart), padding: .insecurePKCS1v1_5)
            else { throw Refused("the ID token's signature does not verify") }
        case ("ES256", .p256(let xy)):
            guard let publicKey = try? P256.Signing.PublicKey(rawRepresentation: xy), let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
                publicKey.isValidSignature(ecdsa, for: SHA256.hash(data: signedPart))
            else {
                throw Refused("the ID token's signature does not verify")
            }
        case ("RS256", _), ("ES256", _):
            throw Refused("key \(keyId) is not a key for \(algorithm)")
        default:
            throw Refused("the ID token is signed with \(algorithm.isEmpty ? "no algorithm" : algorithm); RS256 and ES256 are accepted")
        }
    }

    /// The claims OpenID Connect Core 1.0 §3.1.3.7 asks a client to check, with a minute's skew.
    func verifyClaims(issuer: String, clientId: String, nonce: String, now: Instant, skewSeconds: Int64 = 60) throws {
        guard claims["iss"]?.string == issuer else { throw Refused("the ID token's issuer is \(claims["iss"]?.string ?? "missing"), not \(issuer)") }
        let audience: [String]
        switch claims["aud"] {
        case .string(let one)?: audience = [one]
        case .array(let many)?: audience = many.compactMap(\.string)
        default: audience = []
        }
        guard audience.contains(clientId) else { throw Refused("the ID token is not meant for this client (aud)") }
        if audience.count > 1, claims["azp"]?.string != clientId { throw Refused("the ID token's azp is not this client") }
        let seconds = now.milliseconds / 1000
        guard let expires = claims["exp"]?.number, seconds < Int64(expires) + skewSeconds else { throw Refused("the ID token has expired") }
        guard let issued = claims["iat"]?.number, Int64(issued) <= seconds + skewSeconds else { throw Refused("the ID token was issued in the future (iat)") }
        guard let claimed = claims["nonce"]?.string, Secrets.constantTimeEqual(Data(claimed.utf8), Data(nonce.utf8)) else {
            throw Refused("the ID token's nonce is not the one sent")
        }
        guard !subject.isEmpty else { throw Refused("the ID token has no subject") }
    }
}

/// A key of a provider's JWKS that Tenantry can verify with.
struct JSONWebKey: Sendable {
    /// The key's numbers (the crypto types are not Sendable): RSA's modulus and exponent, or
    /// P-256's x ‖ y.
    enum Material: Sendable {
        case rsa(n: [UInt8], e: [UInt8])
        case p256(xy: [UInt8])
    }

    let id: String
    let material: Material

    /// The keys of a JWKS document that are for signatures and of a kind Tenantry knows;
    /// others are skipped.
    static func keys(fromJWKS body: [UInt8]) throws -> [JSONWebKey] {
        guard case .object(let document)? = try? JSONValue.parse(body), case .array(let keys)? = document["keys"] else {
            throw IDToken.Refused("the provider's JWKS is not a JSON object with keys")
        }
        return keys.compactMap { entry -> JSONWebKey? in
            guard case .object(let key) = entry, key["use"]?.string ?? "sig" == "sig" else { return nil }
            let id = key["kid"]?.string ?? ""
            switch key["kty"]?.string {
            case "RSA":
                // Keys below 2048 bits are refused by the RSA type: such a key is skipped.
                guard let n = key["n"]?.string.flatMap(Base64URL.decode), let e = key["e"]?.string.flatMap(Base64URL.decode),
                    (try? _RSA.Signing.PublicKey(n: n, e: e)) != nil
                else { return nil }
                return JSONWebKey(id: id, material: .rsa(n: n, e: e))
            case "EC":
                guard key["crv"]?.string == "P-256", let x = key["x"]?.string.flatMap(Base64URL.decode), let y = key["y"]?.string.flatMap(Base64URL.decode),
                    x.count == 32, y.count == 32, (try? P256.Signing.PublicKey(rawRepresentation: x + y)) != nil
                else { return nil }
                return JSONWebKey(id: id, material: .p256(xy: x + y))
            default:
                return nil
            }
        }
    }
}

/// Base64url without padding (RFC 7515 §2).
enum Base64URL {
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// A parsed JSON value, for the provider's documents and tokens (Core has no JSON model of its own).
enum JSONValue: Sendable, Equatable, Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([JSONValue].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var string: String? { if case .string(let text) = self { text } else { nil } }
    var number: Double? { if case .number(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let flag) = self { flag } else { nil } }
}
