import Foundation
import TenantryAPI
import TenantryTesting
import Testing

@Suite("The OpenAPI document matches the router and the contract")
struct OpenAPITests {
    /// Routes of docs/API.md served only in test mode (`serve --test-clock`); the integration suite drives them.
    static let testModeOnly: Set<String> = ["POST /v1/admin/clock/advance"]

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

    @Test("every operation has an id, a summary and a 200 answer (a 302 for browser flows), and every $ref resolves")
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
                // Browser flows answer a 302 instead.
                #expect(operation["responses"]?["200"] != nil || operation["responses"]?["302"]?["headers"]?["Location"] != nil, "\(id) has no 200 answer")
                #expect(operation["responses"]?["default"]?["content"]?["application/json"] != nil, "\(id) does not describe its errors")
            }
        }
        #expect(Set(operationIds).count == operationIds.count, "operationIds must be unique")
        let schemas = try #require(document["components"]?["schemas"]?.objectValue).map(\.0)
        for reference in Self.references(in: document) {
            #expect(schemas.contains(String(reference.dropFirst("#/components/schemas/".count))), "unresolved \(reference)")
        }
    }

    @Test("docs/API.md lists every routed route and nothing else (the test clock's only in test mode)")
    func contractRoutesExist() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let contract = URL(fileURLWithPath: TestDaemon.repositoryRoot).appendingPathComponent("docs/API.md")
        let text = try String(contentsOf: contract, encoding: .utf8)
        // Table rows `| METHOD | /path | who may call | what it does |`; other tables have no path.
        var documented: [String] = []
        for line in text.split(separator: "\n") where line.hasPrefix("|") {
            let cells = line.split(separator: "|").map { $0.replacingOccurrences(of: "`", with: "").trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, cells[1].hasPrefix("/") else { continue }
            documented.append("\(cells[0]) \(cells[1])")
        }
        let rows = Set(documented)
        #expect(documented.count > 60, "docs/API.md should list the whole contract")
        #expect(rows.count == documented.count, "docs/API.md lists a route twice")
        let routed = Set(daemon.api.router.routes.map { "\($0.method) \($0.pattern)" })
        let notRouted = documented.filter { !routed.contains($0) && !Self.testModeOnly.contains($0) }
        #expect(notRouted == [], "routes of docs/API.md that are not routed")
        #expect(Self.testModeOnly.isSubset(of: rows), "docs/API.md must list the test clock's route")
        #expect(Self.testModeOnly.allSatisfy { !routed.contains($0) }, "the test clock's route must not exist outside test mode")
        // A route outside the tables (the console's files) must be named in the text as `METHOD pattern`.
        let undocumented = routed.filter { !rows.contains($0) && !text.contains("`\($0)`") }.sorted()
        #expect(undocumented == [], "routed routes missing from docs/API.md")
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
