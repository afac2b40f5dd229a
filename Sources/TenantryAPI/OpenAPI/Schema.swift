/// The JSON Schema subset the OpenAPI document uses, built in Swift next to the routes so
/// that a route and its description cannot drift apart.
public indirect enum Schema: Sendable {
    case string(description: String? = nil)
    case enumeration([String], description: String? = nil)
    /// The seed's `string(int64)`: a decimal string in answers (a number is accepted in requests).
    case int64(description: String? = nil)
    case integer(description: String? = nil)
    case boolean(description: String? = nil)
    case number(description: String? = nil)
    /// Any JSON value.
    case any(description: String? = nil)
    /// RFC 3339; `nullable` when there may be none.
    case dateTime(nullable: Bool = false, description: String? = nil)
    case array(Schema)
    case object([(String, Schema)])
    /// An object whose keys are free and whose values follow the schema.
    case map(Schema)
    case reference(String)
    case empty

    /// The schema as OpenAPI 3.1 JSON. Every property of an answer is always present, so
    /// all of them are required.
    public var json: JSON {
        switch self {
        case .string(let description):
            return Self.describe(["type": "string"], description)
        case .enumeration(let values, let description):
            return Self.describe(["type": "string", "enum": .array(values.map { .string($0) })], description)
        case .int64(let description):
            return Self.describe(["type": "string", "pattern": "^-?[0-9]+$", "format": "int64"], description)
        case .integer(let description):
            return Self.describe(["type": "integer"], description)
        case .boolean(let description):
            return Self.describe(["type": "boolean"], description)
        case .number(let description):
            return Self.describe(["type": "number"], description)
        case .any(let description):
            return Self.describe([:], description)
        case .dateTime(let nullable, let description):
            let type: JSON = nullable ? ["string", "null"] : "string"
            return Self.describe(["type": type, "format": "date-time"], description)
        case .array(let items):
            return ["type": "array", "items": items.json]
        case .object(let properties):
            return [
                "type": "object",
                "properties": .object(properties.map { ($0.0, $0.1.json) }),
                "required": .array(properties.map { .string($0.0) }),
            ]
        case .map(let values):
            return ["type": "object", "additionalProperties": values.json]
        case .reference(let name):
            return ["$ref": .string("#/components/schemas/\(name)")]
        case .empty:
            return ["type": "object"]
        }
    }

    /// The same schema for a request: nothing is required (a missing field takes its
    /// default), and an int64 may also be a number.
    public var requestJSON: JSON {
        switch self {
        case .int64(let description):
            return Self.describe(["type": ["string", "integer"], "format": "int64"], description)
        case .array(let items):
            return ["type": "array", "items": items.requestJSON]
        case .object(let properties):
            return ["type": "object", "properties": .object(properties.map { ($0.0, $0.1.requestJSON) })]
        case .map(let values):
            return ["type": "object", "additionalProperties": values.requestJSON]
        default:
            return json
        }
    }

    private static func describe(_ schema: JSON, _ description: String?) -> JSON {
        guard let description, case .object(var members) = schema else { return schema }
        members.append(("description", .string(description)))
        return .object(members)
    }
}

extension Schema {
    /// The raw values of a Swift enum, so the document can never drift from the code.
    static func cases<Value: CaseIterable & RawRepresentable>(of _: Value.Type, before: [String] = [], except: Set<String> = [], description: String? = nil) -> Schema
    where Value.RawValue == String {
        .enumeration(before + Value.allCases.map(\.rawValue).filter { !except.contains($0) }, description: description)
    }
}
