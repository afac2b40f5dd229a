import Foundation

/// Builds the OpenAPI 3.1 document from the endpoints themselves.
enum OpenAPIDocument {
    static func build(_ endpoints: [Endpoint], version: String) -> JSON {
        var paths: [(String, JSON)] = []
        for endpoint in endpoints {
            let path = endpoint.path.replacingOccurrences(of: "...}", with: "}")
            let operation = self.operation(endpoint)
            if let index = paths.firstIndex(where: { $0.0 == path }), case .object(var methods) = paths[index].1 {
                methods.append((endpoint.method.lowercased(), operation))
                paths[index].1 = .object(methods)
            } else {
                paths.append((path, .object([(endpoint.method.lowercased(), operation)])))
            }
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Tenantry",
                "version": .string(version),
                "description": """
                Accounts, tenants, subscriptions and credits. Errors are {"code", "message"} with the seed's codes \
                (3→400, 5→404, 6→409, 7→403, 8→429, 9→402, 12→501, 13→500, 14→503 with Retry-After, 16→401). int64 fields are decimal strings \
                in answers and a number or a string in requests; dates are RFC 3339 UTC; a missing request field takes \
                its type's default.
                """,
            ],
            "paths": .object(paths),
            "components": [
                "schemas": .object(Components.all.map { ($0.0, $0.1.json) }),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "a session token or an API key"]],
            ],
        ]
    }

    private static let stringSchema: JSON = ["type": "string"]

    private static func operation(_ endpoint: Endpoint) -> JSON {
        var operation: [(String, JSON)] = [
            ("operationId", .string(endpoint.operationId)),
            ("summary", .string(endpoint.summary)),
            (
                "description",
                .string(
                    "Credentials: \(endpoint.access.description)."
                        + (endpoint.hashesPassword ? " While the password-hashing queue is full it answers 429 (code 8), after the Retry-After it names." : ""))
            ),
        ]
        if endpoint.access != .everyone {
            operation.append(("security", [["bearer": []]]))
        }
        var parameters: [JSON] = endpoint.path.split(separator: "/").compactMap { segment in
            guard segment.hasPrefix("{") else { return nil }
            let name = segment.dropFirst().dropLast().replacingOccurrences(of: "...", with: "")
            return ["name": .string(name), "in": "path", "required": true, "schema": stringSchema]
        }
        parameters += endpoint.query.map { query -> JSON in
            ["name": .string(query.name), "in": "query", "required": false, "description": .string(query.description), "schema": stringSchema]
        }
        if !parameters.isEmpty { operation.append(("parameters", .array(parameters))) }
        switch endpoint.body {
        case .none: break
        case .json(let schema):
            operation.append(("requestBody", ["required": false, "content": ["application/json": ["schema": schema.requestJSON]]]))
        case .multipart(let field, let description):
            let file: JSON = ["type": "string", "format": "binary", "description": .string(description)]
            let form: JSON = ["type": "object", "required": [.string(field)], "properties": .object([(field, file)])]
            operation.append(("requestBody", ["required": true, "content": ["multipart/form-data": ["schema": form]]]))
        }
        var status = "200"
        let success: JSON
        switch endpoint.answer {
        case .json(let schema):
            success = ["description": "success", "content": ["application/json": ["schema": schema.json]]]
        case .raw(let contentType, let description):
            let content: JSON = ["schema": stringSchema]
            success = ["description": .string(description), "content": .object([(contentType, content)])]
        case .redirect(let description):
            status = "302"
            success = ["description": .string(description), "headers": ["Location": ["schema": stringSchema]]]
        }
        let errorSchema: JSON = ["$ref": "#/components/schemas/Error"]
        let error: JSON = ["description": "an error (see the code table)", "content": ["application/json": ["schema": errorSchema]]]
        operation.append(("responses", .object([(status, success), ("default", error)])))
        return .object(operation)
    }
}
