import Foundation

/// `application/x-www-form-urlencoded`, as providers' APIs take it (Stripe's bracketed keys,
/// OAuth's token requests and authorization URLs, client credentials): RFC 3986's unreserved
/// ASCII characters stay, every other byte is percent-encoded.
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func component(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(component($0.0))=\(component($0.1))" }.joined(separator: "&")
    }
}
