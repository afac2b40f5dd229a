import Testing

@testable import TenantryHTTP

private let ok = Handler.inline { _ in Response() }

/// The pattern and parameters of a match, or a description of why it did not match.
private enum Outcome: Equatable {
    case found(String, [String: String])
    case methodNotAllowed([String])
    case notFound
}

private func outcome(_ router: Router, _ method: String, _ path: String) -> Outcome {
    switch router.match(method: method, path: path) {
    case .found(let route, let parameters): .found(route.pattern, parameters)
    case .methodNotAllowed(let allowed): .methodNotAllowed(allowed)
    case .notFound: .notFound
    }
}

@Suite("Router")
struct RouterTests {
    private static func sample() -> Router {
        var router = Router()
        router.add("GET", "/healthz", ok)
        router.add("GET", "/v1/users/{user_id}", ok)
        router.add("DELETE", "/v1/users/{user_id}", ok)
        router.add("GET", "/v1/tenants/{tenant_id}/members/{email}", ok)
        router.add("POST", "/v1/tenants/{tenant_id}/members", bodyLimit: 4096, ok)
        router.add("GET", "/console/{path...}", ok)
        router.add("GET", "/", ok)
        return router
    }

    @Test("matches literal paths")
    func literal() {
        let router = Self.sample()
        #expect(outcome(router, "GET", "/healthz") == .found("/healthz", [:]))
        #expect(outcome(router, "GET", "/") == .found("/", [:]))
        #expect(outcome(router, "GET", "/healthy") == .notFound)
        #expect(outcome(router, "GET", "/HEALTHZ") == .notFound)
    }

    @Test("captures {name} segments")
    func parameters() {
        let router = Self.sample()
        #expect(outcome(router, "GET", "/v1/users/usr_42") == .found("/v1/users/{user_id}", ["user_id": "usr_42"]))
        #expect(
            outcome(router, "GET", "/v1/tenants/tnt_1/members/bob@example.com")
                == .found("/v1/tenants/{tenant_id}/members/{email}", ["tenant_id": "tnt_1", "email": "bob@example.com"]))
        // A parameter takes exactly one segment.
        #expect(outcome(router, "GET", "/v1/users") == .notFound)
        #expect(outcome(router, "GET", "/v1/users/a/b") == .notFound)
    }

    @Test("a final {name...} captures the rest of the path, even nothing")
    func rest() {
        let router = Self.sample()
        #expect(outcome(router, "GET", "/console/app.js") == .found("/console/{path...}", ["path": "app.js"]))
        #expect(outcome(router, "GET", "/console/img/icons/logo.svg") == .found("/console/{path...}", ["path": "img/icons/logo.svg"]))
        #expect(outcome(router, "GET", "/console") == .found("/console/{path...}", ["path": ""]))
        #expect(outcome(router, "GET", "/console/") == .found("/console/{path...}", ["path": ""]))
        #expect(outcome(router, "GET", "/consoles/app.js") == .notFound)
    }

    @Test("HEAD matches GET routes")
    func head() {
        let router = Self.sample()
        #expect(outcome(router, "HEAD", "/healthz") == .found("/healthz", [:]))
        #expect(outcome(router, "HEAD", "/v1/users/u1") == .found("/v1/users/{user_id}", ["user_id": "u1"]))
        #expect(outcome(router, "HEAD", "/v1/tenants/t/members") == .methodNotAllowed(["POST"]))
    }

    @Test("a known path with another method is methodNotAllowed, listing the allowed methods")
    func methodNotAllowed() {
        let router = Self.sample()
        #expect(outcome(router, "POST", "/healthz") == .methodNotAllowed(["GET"]))
        #expect(outcome(router, "PUT", "/v1/users/u1") == .methodNotAllowed(["GET", "DELETE"]))
        #expect(outcome(router, "GET", "/v1/tenants/t/members") == .methodNotAllowed(["POST"]))
        // Methods are case-sensitive, as in HTTP.
        #expect(outcome(router, "get", "/healthz") == .methodNotAllowed(["GET"]))
    }

    @Test("unknown paths are notFound")
    func notFound() {
        let router = Self.sample()
        #expect(outcome(router, "GET", "/nope") == .notFound)
        #expect(outcome(router, "POST", "/nope") == .notFound)
        #expect(outcome(router, "GET", "/v1") == .notFound)
        #expect(outcome(Router(), "GET", "/") == .notFound)
    }

    @Test("trailing and repeated slashes do not matter")
    func slashes() {
        let router = Self.sample()
        #expect(outcome(router, "GET", "/healthz/") == .found("/healthz", [:]))
        #expect(outcome(router, "GET", "//healthz") == .found("/healthz", [:]))
        #expect(outcome(router, "GET", "/v1//users/u1/") == .found("/v1/users/{user_id}", ["user_id": "u1"]))
        #expect(outcome(router, "GET", "") == .found("/", [:]))
        #expect(outcome(router, "GET", "///") == .found("/", [:]))
    }

    @Test("routes carry their body limit, or the router's default")
    func bodyLimits() throws {
        let router = Self.sample()
        guard case .found(let post, _) = router.match(method: "POST", path: "/v1/tenants/t/members") else {
            Issue.record("no match")
            return
        }
        #expect(post.bodyLimit == 4096)
        #expect(post.method == "POST")
        guard case .found(let get, _) = router.match(method: "GET", path: "/healthz") else {
            Issue.record("no match")
            return
        }
        #expect(get.bodyLimit == 1 << 20)
        var small = Router(defaultBodyLimit: 10)
        small.add("PUT", "/x", ok)
        guard case .found(let put, _) = small.match(method: "PUT", path: "/x") else {
            Issue.record("no match")
            return
        }
        #expect(put.bodyLimit == 10)
        #expect(small.routes.count == 1)
        #expect(small.match(method: "PUT", path: "/x").route?.pattern == "/x")
        #expect(small.match(method: "GET", path: "/x").route == nil)
        #expect(small.match(method: "PUT", path: "/y").route == nil)
        #expect(Self.sample().routes.count == 7)
    }

    @Test("registering the same method and pattern twice is a programming error")
    func duplicateRoute() async {
        await #expect(processExitsWith: .failure) {
            var router = Router()
            router.add("GET", "/v1/users/{id}", Handler.inline { _ in Response() })
            router.add("GET", "/v1/users/{id}/", Handler.inline { _ in Response() })
        }
    }

    @Test("the same pattern under another method is a separate route")
    func samePatternOtherMethod() {
        var router = Router()
        router.add("GET", "/v1/users/{id}", ok)
        router.add("PATCH", "/v1/users/{id}", ok)
        #expect(outcome(router, "PATCH", "/v1/users/7") == .found("/v1/users/{id}", ["id": "7"]))
        #expect(router.routes.map(\.method) == ["GET", "PATCH"])
    }
}

@Suite("Request and Response")
struct RequestResponseTests {
    @Test("bearer tokens are read from the Authorization header")
    func bearer() {
        func token(_ value: String?) -> String? {
            Request(method: "GET", path: "/", headers: value.map { ["authorization": $0] } ?? [:]).bearerToken
        }
        #expect(token("Bearer tns_abc") == "tns_abc")
        #expect(token("bearer   tns_abc  ") == "tns_abc")
        #expect(token("BEARER tns_abc") == "tns_abc")
        #expect(token("Basic dXNlcjpwYXNz") == nil)
        #expect(token("Bearer") == nil)
        #expect(token("Bearer ") == nil)
        #expect(token(nil) == nil)
    }

    @Test("headers are looked up case-insensitively; parameters default to empty")
    func lookups() {
        var request = Request(method: "POST", path: "/x", query: ["page": "2"], headers: ["content-type": "text/plain"], body: [1, 2])
        request.pathParameters = ["id": "7"]
        #expect(request.header("Content-Type") == "text/plain")
        #expect(request.header("CONTENT-TYPE") == "text/plain")
        #expect(request.header("accept") == nil)
        #expect(request.parameter("id") == "7")
        #expect(request.parameter("missing") == "")
        #expect(request.query["page"] == "2")
        #expect(request.body == [1, 2])
    }

    @Test(
        "loopback clients are recognised",
        arguments: [
            ("127.0.0.1", true), ("127.1.2.3", true), ("::1", true), ("::ffff:127.0.0.1", true),
            ("10.0.0.1", false), ("::ffff:10.0.0.1", false), ("1.127.0.0", false), ("", false),
        ])
    func loopback(address: String, expected: Bool) {
        #expect(Request(method: "GET", path: "/", clientAddress: address).isFromLoopback == expected)
    }

    @Test("response helpers set their headers; setHeader replaces case-insensitively")
    func responses() {
        let json = Response.json(Array("{}".utf8), status: 201)
        #expect(json.status == 201)
        #expect(json.header("content-type") == "application/json; charset=utf-8")
        #expect(json.header("Cache-Control") == "no-store")
        #expect(json.header("x-content-type-options") == "nosniff")
        let text = Response.text("hi")
        #expect(text.status == 200)
        #expect(text.body == Array("hi".utf8))
        #expect(text.header("Content-Type") == "text/plain; charset=utf-8")
        var response = Response()
        response.setHeader("X-Thing", "1")
        response.setHeader("x-thing", "2")
        #expect(response.headers.count == 1)
        #expect(response.header("X-THING") == "2")
        #expect(response.header("missing") == nil)
    }

    @Test("candidates by length and second segment keep registration order: literal before parameter, rest routes at every length, 405s across buckets")
    func candidateOrder() {
        var router = Router()
        router.add("GET", "/", ok)
        router.add("GET", "/v1/{kind}/current", ok)
        router.add("GET", "/v1/user/current", ok)
        router.add("POST", "/v1/user/{id}", ok)
        router.add("GET", "/console/{path...}", ok)
        router.add("GET", "/v1/admin/{rest...}", ok)
        router.add("PUT", "/v1/admin/settings", ok)
        // Registered first, the parameter route wins over the literal one.
        #expect(outcome(router, "GET", "/v1/user/current") == .found("/v1/{kind}/current", ["kind": "user"]))
        #expect(outcome(router, "GET", "/v1/tenant/current") == .found("/v1/{kind}/current", ["kind": "tenant"]))
        #expect(outcome(router, "POST", "/v1/user/current") == .found("/v1/user/{id}", ["id": "current"]))
        #expect(outcome(router, "DELETE", "/v1/user/current") == .methodNotAllowed(["GET", "GET", "POST"]))
        #expect(outcome(router, "GET", "/") == .found("/", [:]))
        #expect(outcome(router, "GET", "/console") == .found("/console/{path...}", ["path": ""]))
        #expect(outcome(router, "GET", "/console/js/a/b/c/d/e/f/g/h.js") == .found("/console/{path...}", ["path": "js/a/b/c/d/e/f/g/h.js"]))
        #expect(outcome(router, "GET", "/v1/admin/settings") == .found("/v1/admin/{rest...}", ["rest": "settings"]))
        #expect(outcome(router, "PUT", "/v1/admin/settings") == .found("/v1/admin/settings", [:]))
        #expect(outcome(router, "POST", "/v1/admin/settings") == .methodNotAllowed(["GET", "PUT"]))
        #expect(outcome(router, "GET", "/v1/nothing/here/at/all/for/sure/ever") == .notFound)
        // A route added after longer paths were indexed joins every bucket it fits.
        router.add("GET", "/v1/{any...}", ok)
        #expect(outcome(router, "GET", "/v1/nothing/here/at/all/for/sure/ever") == .found("/v1/{any...}", ["any": "nothing/here/at/all/for/sure/ever"]))
        #expect(outcome(router, "GET", "/v1/user/current") == .found("/v1/{kind}/current", ["kind": "user"]))
    }
}
