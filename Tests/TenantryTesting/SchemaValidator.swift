import TenantryAPI
import TenantryCore

/// Checks a JSON value against a schema of the OpenAPI document (the subset it uses),
/// strictly: an object may carry only the properties its schema lists.
public struct SchemaValidator: Sendable {
    public let document: JSON

    public init(document: JSON) { self.document = document }

    /// The problems found, each with the path where it is; empty when the value conforms.
    public func problems(_ value: JSON, against schema: JSON, at path: String = "$") -> [String] {
        if let ref = schema["$ref"]?.stringValue {
            let name = String(ref.dropFirst("#/components/schemas/".count))
            guard let target = document["components"]?["schemas"]?[name] else { return ["\(path): unresolved \(ref)"] }
            return problems(value, against: target, at: path)
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            return ["\(path): \(value) is not one of \(allowed.compactMap(\.stringValue))"]
        }
        let types: [String]
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default: return []
        }
        switch value {
        case .null:
            return types.contains("null") ? [] : ["\(path): null where \(types) is expected"]
        case .bool:
            return types.contains("boolean") ? [] : ["\(path): a boolean where \(types) is expected"]
        case .number(let text):
            if types.contains("integer") { return Int64(text) != nil ? [] : ["\(path): \(text) is not an integer"] }
            return types.contains("number") ? [] : ["\(path): a number where \(types) is expected"]
        case .string(let text):
            guard types.contains("string") else { return ["\(path): a string where \(types) is expected"] }
            if schema["format"]?.stringValue == "date-time", Instant(rfc3339: text) == nil {
                return ["\(path): \"\(text)\" is not an RFC 3339 date-time"]
            }
            if schema["pattern"]?.stringValue == "^-?[0-9]+$", Int64(text) == nil {
                return ["\(path): \"\(text)\" is not a decimal int64"]
            }
            return []
        case .array(let items):
            guard types.contains("array") else { return ["\(path): an array where \(types) is expected"] }
            guard let itemSchema = schema["items"] else { return [] }
            return items.enumerated().flatMap { problems($1, against: itemSchema, at: "\(path)[\($0)]") }
        case .object(let members):
            guard types.contains("object") else { return ["\(path): an object where \(types) is expected"] }
            var found: [String] = []
            let properties = schema["properties"]?.objectValue
            let required = schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            for name in required where !members.contains(where: { $0.0 == name }) {
                found.append("\(path): missing \(name)")
            }
            for (name, member) in members {
                if let propertySchema = properties?.first(where: { $0.0 == name })?.1 {
                    found += problems(member, against: propertySchema, at: "\(path).\(name)")
                } else if let additional = schema["additionalProperties"] {
                    found += problems(member, against: additional, at: "\(path).\(name)")
                } else if properties != nil {
                    found.append("\(path): unexpected property \(name)")
                }
            }
            return found
        }
    }
}
