import Foundation
import TenantryAPI
import TenantryTesting
import Testing

@Suite("The OpenAPI document matches the router and the contract")
struct OpenAPITests {
    /// Routes of API.md that later issues build; each leaves this list when it lands.
    static let notYetBuilt: Set<String> = [
        "GET /v1/tenant/api-keys", "POST /v1/tenant/api-keys", "DELETE /v1/tenant/api-keys/{id}",
        "GET /v1/subscription", "GET /v1/subscription/variants", "GET /v1/subscription/variants/{id}",
        "POST /v1/subscription/create", "POST /v1/subscription/update", "POST /v1/subscription/cancel",
        "GET /v1/subscription/addons", "POST /v1/subscription/addons/purchase", "GET /v1/subscription/portal",
        "POST /v1/usage/plans", "GET /v1/usage/plans", "GET /v1/usage/plans/{plan_name}", "PUT /v1/usage/plans/{plan_name}",
        "DELETE /v1/usage/plans/{plan_name}", "GET /v1/usage/tenants/{tenant_id}/current",
        "POST /v1/usage/tenants/{tenant_id}/agents/credits", "GET /v1/usage/tenants/{tenant_id}/agents/{agent_id}/credits",
        "POST /v1/usage/tenants/{tenant_id}/consume", "GET /v1/auth/check",
        "GET /v1/admin/overview", "GET /v1/admin/tenants", "GET /v1/admin/tenants/{tenant_id}",
        "GET /v1/admin/tenants/{tenant_id}/subscription", "POST /v1/admin/tenants/{tenant_id}/subscription",
        "POST /v1/admin/tenants/{tenant_id}/credits", "GET /v1/admin/variants", "POST /v1/admin/variants",
        "PUT /v1/admin/variants/{id}", "DELETE /v1/admin/variants/{id}", "GET /v1/admin/variants/{id}",
        "GET /v1/admin/invoices", "POST /v1/admin/invoices/{id}/paid", "GET /v1/admin/users", "POST /v1/admin/users/{id}/status",
        "GET /v1/admin/audit", "POST /v1/admin/clock/advance",
    ]

    @Test("every route of the router is in the document, and nothing else")
    func documentMatchesRouter() async throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let document = try await daemon.call("GET", "/v1/openapi.json").json()
        #expect(document["openapi"] == "3.1.0")
        var documented: Set<String> = []
        for (path, operations) in try #require(document["paths"]?.objectValue) {
            for (method, _) in try #require(operations.objectValue) { documented.insert("\(method.uppercased()) \(path)") }
        }
        let routed = Set(daemon.api.router.routes.map { "\($0.method) \($0.pattern.replacingOccurrences(of: "...}", with: "}"))" })
        #expect(documented == routed)
    }

    @Test("every operation has an id, a summary and a 200 answer, and every $ref resolves")
    func documentIsComplete() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let document = daemon.api.openAPIDocument
        var operationIds: [String] = []
        for (path, operations) in document["paths"]!.objectValue! {
            for (method, operation) in operations.objectValue! {
                let id = try #require(operation["operationId"]?.stringValue, "\(method) \(path) has no operationId")
                operationIds.append(id)
                let summary = operation["summary"]?.stringValue ?? ""
                #expect(!summary.isEmpty, "\(id) has no summary")
                #expect(operation["responses"]?["200"] != nil, "\(id) has no 200 answer")
                #expect(operation["responses"]?["default"]?["content"]?["application/json"] != nil, "\(id) does not describe its errors")
            }
        }
        #expect(Set(operationIds).count == operationIds.count, "operationIds must be unique")
        let schemas = try #require(document["components"]?["schemas"]?.objectValue).map(\.0)
        for reference in Self.references(in: document) {
            #expect(schemas.contains(String(reference.dropFirst("#/components/schemas/".count))), "unresolved \(reference)")
        }
    }

    @Test("every route of API.md that exists now is routed, and the rest is listed as not yet built")
    func contractRoutesExist() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let contract = URL(fileURLWithPath: TestDaemon.repositoryRoot).deletingLastPathComponent().appendingPathComponent("shared/design/API.md")
        let text = try String(contentsOf: contract, encoding: .utf8)
        var routes: [String] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, cells[1].hasPrefix("/") else { continue }
            let path = cells[1].split(separator: " ").first.map(String.init) ?? cells[1]
            for method in cells[0].split(separator: "/") {
                if path.contains("[/{id}]") {
                    let base = path.replacingOccurrences(of: "[/{id}]", with: "")
                    routes += method == "GET" ? ["GET \(base)", "GET \(base)/{id}"] : method == "POST" ? ["POST \(base)"] : ["\(method) \(base)/{id}"]
                } else {
                    routes.append("\(method) \(path)")
                }
            }
        }
        #expect(routes.count > 60, "API.md should list the whole contract")
        let routed = Set(daemon.api.router.routes.map { "\($0.method) \($0.pattern)" }).union(["GET /console/…"])
        for route in routes where !Self.notYetBuilt.contains(route) && route != "GET / and /console/…" {
            #expect(routed.contains(route), "API.md route \(route) is not served")
        }
        for route in Self.notYetBuilt {
            #expect(!routed.contains(route), "\(route) is served now: remove it from notYetBuilt")
        }
    }

    private static func references(in json: JSON) -> [String] {
        switch json {
        case .object(let members):
            return members.flatMap { key, value in key == "$ref" ? [value.stringValue ?? ""] : references(in: value) }
        case .array(let items):
            return items.flatMap(references(in:))
        default:
            return []
        }
    }
}
