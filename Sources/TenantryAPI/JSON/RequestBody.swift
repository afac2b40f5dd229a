import Foundation
import TenantryCore
import TenantryHTTP

/// A JSON request object read the seed's way: a missing field takes its type's default,
/// an int64 may come as a number or a decimal string, and a field of the wrong type is an
/// `INVALID_ARGUMENT` that names it.
public struct RequestBody: Sendable {
    public let json: JSON

    public init(_ json: JSON) { self.json = json }

    private func present(_ key: String) -> JSON? {
        guard let value = json[key], value != .null else { return nil }
        return value
    }

    /// A string field; control characters other than tab and line breaks are refused, so
    /// none reaches the database, a log line or an email header.
    public func string(_ key: String) throws -> String {
        guard let value = present(key) else { return "" }
        guard case .string(let text) = value else { throw DomainError.invalidArgument("\(key) must be a string") }
        try Self.refuseControlCharacters(text, field: key)
        return text
    }

    static func refuseControlCharacters(_ text: String, field: String) throws {
        let refused = text.unicodeScalars.contains { scalar in
            (scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r") || (0x7F...0x9F).contains(scalar.value)
        }
        guard !refused else { throw DomainError.invalidArgument("\(field) must not contain control characters") }
    }

    public func bool(_ key: String) throws -> Bool {
        guard let value = present(key) else { return false }
        guard case .bool(let flag) = value else { throw DomainError.invalidArgument("\(key) must be true or false") }
        return flag
    }

    public func int64(_ key: String) throws -> Int64 {
        guard let value = present(key) else { return 0 }
        let text: String
        switch value {
        case .number(let number): text = number
        case .string(let string): text = string.trimmingCharacters(in: .whitespaces)
        default: throw DomainError.invalidArgument("\(key) must be an integer (a number or a decimal string)")
        }
        guard let number = Int64(text) else {
            throw DomainError.invalidArgument("\(key) must be an integer between \(Int64.min) and \(Int64.max)")
        }
        return number
    }

    /// A decimal amount such as `19.99`, as a string or a number, exactly as written (the
    /// domain turns it into minor units); required.
    public func decimal(_ key: String) throws -> String {
        switch present(key) {
        case .number(let number)?: return number
        case .string(let text)?: return text
        case nil: throw DomainError.invalidArgument("\(key) is required")
        default: throw DomainError.invalidArgument("\(key) must be a decimal amount such as 19.99")
        }
    }

    /// An RFC 3339 date-time; nil when missing or empty (a string's default).
    public func date(_ key: String) throws -> Instant? {
        let text = try string(key)
        guard !text.isEmpty else { return nil }
        guard let instant = Instant(rfc3339: text) else { throw DomainError.invalidArgument("\(key) must be an RFC 3339 date-time") }
        return instant
    }

    /// An RFC 3339 date-time that must be there.
    public func requiredDate(_ key: String) throws -> Instant {
        guard let instant = try date(key) else { throw DomainError.invalidArgument("\(key) is required") }
        return instant
    }

    public func int32(_ key: String) throws -> Int32 {
        let value = try int64(key)
        guard let small = Int32(exactly: value) else { throw DomainError.invalidArgument("\(key) must be between \(Int32.min) and \(Int32.max)") }
        return small
    }

    public func array(_ key: String) throws -> [JSON] {
        guard let value = present(key) else { return [] }
        guard case .array(let items) = value else { throw DomainError.invalidArgument("\(key) must be an array") }
        return items
    }

    /// The objects of an array field, each as a body of its own.
    public func objects(_ key: String) throws -> [RequestBody] {
        try array(key).enumerated().map { index, item in
            guard case .object = item else { throw DomainError.invalidArgument("\(key)[\(index)] must be an object") }
            return RequestBody(item)
        }
    }

    public func strings(_ key: String) throws -> [String] {
        try array(key).enumerated().map { index, item in
            guard case .string(let text) = item else { throw DomainError.invalidArgument("\(key)[\(index)] must be a string") }
            try Self.refuseControlCharacters(text, field: "\(key)[\(index)]")
            return text
        }
    }

    /// A nested object, or nil when it is missing (the seed's default for objects).
    public func object(_ key: String) throws -> RequestBody? {
        guard let value = present(key) else { return nil }
        guard case .object = value else { throw DomainError.invalidArgument("\(key) must be an object") }
        return RequestBody(value)
    }

    public func has(_ key: String) -> Bool { present(key) != nil }
}

extension Request {
    /// The body as a JSON object; an empty body is an empty object.
    public func jsonBody() throws -> RequestBody {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return RequestBody(.object([])) }
        let json = try JSONParser.parse(body)
        guard case .object = json else { throw DomainError.invalidArgument("the request body must be a JSON object") }
        return RequestBody(json)
    }

    /// A query parameter as a positive integer, with a default when absent.
    public func queryInteger(_ name: String, default fallback: Int) throws -> Int {
        guard let raw = query[name], !raw.isEmpty else { return fallback }
        guard let value = Int(raw) else { throw DomainError.invalidArgument("\(name) must be an integer") }
        return value
    }
}
