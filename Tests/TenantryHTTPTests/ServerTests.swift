import Foundation
import Synchronization
import TenantryTesting
import Testing

@testable import TenantryHTTP

/// Echoes what the handler saw, one `key=value` per line.
private func describe(_ request: Request) -> String {
    var lines = [
        "method=\(request.method)",
        "path=\(request.path)",
        "route=\(request.route)",
        "client=\(request.clientAddress)",
        "body=\(String(decoding: request.body, as: UTF8.self))",
    ]
    lines += request.pathParameters.sorted { $0.key < $1.key }.map { "param.\($0.key)=\($0.value)" }
    lines += request.query.sorted { $0.key < $1.key }.map { "query.\($0.key)=\($0.value)" }
    if let header = request.header("x-test") { lines.append("header.x-test=\(header)") }
    return lines.joined(separator: "\n")
}

private func lines(_ response: WireResponse) -> Set<String> {
    Set(response.text.split(separator: "\n").map(String.init))
}

@Suite("Server")
struct ServerTests {
    private static func router() -> Router {
        var router = Router()
        router.add("GET", "/inline/{name}", .inline { request in .text(describe(request)) })
        router.add(
            "GET", "/offloaded/{name}",
            .offloaded { request in
                .task {
                    await Task.yield()
                    return Response(status: 201, headers: [("Content-Type", "text/plain"), ("X-Handler", "offloaded")], body: Array(describe(request).utf8))
                }
            })
        router.add("POST", "/echo", bodyLimit: 64, .inline { request in .text(describe(request)) })
        router.add("POST", "/echo-async", bodyLimit: 64, .offloaded { request in .task { .text(describe(request)) } })
        router.add("GET", "/throws", .inline { _ in throw HTTPError.malformedMultipart("handler said no") })
        router.add("GET", "/throws-async", .offloaded { _ in .task { throw HTTPError.malformedMultipart("async handler said no") } })
        // Work that answers from a thread of its own, as the database writer does.
        router.add(
            "GET", "/answered-elsewhere/{name}",
            .offloaded { request in
                .work { respond in Thread.detachNewThread { respond { .text(describe(request)) } } }
            })
        router.add("GET", "/refused-before-suspending", .offloaded { _ in throw HTTPError.malformedMultipart("refused at once") })
        return router
    }

    @Test("an inline handler answers, seeing method, path, parameters, query, headers and client")
    func inlineHandler() async throws {
        try await withServer(Self.router()) { server in
            #expect(server.port != 0)
            let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/inline/alice?page=2&q=a%20b", headers: [("X-Test", "yes")]))
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/plain; charset=utf-8")
            #expect(response.headers["cache-control"] == "no-store")
            let seen = lines(response)
            #expect(seen.contains("method=GET"))
            #expect(seen.contains("path=/inline/alice"))
            #expect(seen.contains("route=/inline/{name}"))
            #expect(seen.contains("client=127.0.0.1"))
            #expect(seen.contains("param.name=alice"))
            #expect(seen.contains("query.page=2"))
            #expect(seen.contains("query.q=a b"))
            #expect(seen.contains("header.x-test=yes"))
        }
    }

    @Test("an offloaded (async) handler answers after the connection is resumed")
    func offloadedHandler() async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/offloaded/bob"))
            #expect(response.status == 201)
            #expect(response.headers["x-handler"] == "offloaded")
            #expect(lines(response).contains("param.name=bob"))
            #expect(lines(response).contains("route=/offloaded/{name}"))
        }
    }

    @Test("work that answers from a thread of its own resumes its connection")
    func answeredFromAnotherThread() async throws {
        try await withServer(Self.router()) { server in
            for name in ["one", "two", "three"] {
                let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/answered-elsewhere/\(name)"))
                #expect(response.status == 200)
                #expect(lines(response).contains("route=/answered-elsewhere/{name}"))
                #expect(lines(response).contains("param.name=\(name)"))
            }
        }
    }

    @Test("many concurrent requests, inline and offloaded, all get their own answer")
    func concurrentRequests() async throws {
        try await withServer(Self.router()) { server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let kind = index.isMultiple(of: 2) ? "inline" : "offloaded"
                        let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/\(kind)/n\(index)"))
                        #expect(response.status == (kind == "inline" ? 200 : 201))
                        #expect(lines(response).contains("param.name=n\(index)"))
                    }
                }
                try await group.waitForAll()
            }
            #expect(await eventually { server.requestsInFlight == 0 })
        }
    }

    @Test("HEAD is answered by the GET route, without a body")
    func head() async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("HEAD", "/inline/x"))
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
        }
    }

    @Test("an unknown route is answered by the error renderer")
    func notFound() async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/nowhere/at/all"))
            #expect(response.status == 404)
            #expect(response.text == "no route for GET /nowhere/at/all")
        }
    }

    @Test("a known path with another method answers 405 with an Allow header")
    func methodNotAllowed() async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("DELETE", "/inline/x"))
            #expect(response.status == 405)
            #expect(response.headers["allow"] == "GET")
            #expect(response.text == "DELETE not allowed; use GET")
        }
    }

    @Test("errors thrown by handlers go through the error renderer", arguments: ["/throws", "/throws-async"])
    func handlerErrors(path: String) async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", path))
            #expect(response.status == 400)
            #expect(response.text.hasSuffix("said no"))
        }
    }

    @Test("a body within the route's limit reaches the handler", arguments: ["/echo", "/echo-async"])
    func bodyWithinLimit(path: String) async throws {
        try await withServer(Self.router()) { server in
            let body = Array(String(repeating: "a", count: 64).utf8)
            let response = try await WireClient.exchange(port: server.port, WireClient.request("POST", path, body: body))
            #expect(response.status == 200)
            #expect(lines(response).contains("body=" + String(repeating: "a", count: 64)))
        }
    }

    @Test("a chunked body within the limit is reassembled")
    func chunkedWithinLimit() async throws {
        try await withServer(Self.router()) { server in
            let pieces = [Array("hello, ".utf8), Array("chunked ".utf8), Array("world".utf8)]
            let response = try await WireClient.exchange(port: server.port, WireClient.chunkedRequest("POST", "/echo", pieces: pieces))
            #expect(response.status == 200)
            #expect(lines(response).contains("body=hello, chunked world"))
        }
    }

    @Test("a declared Content-Length over the limit is refused before the body is read", arguments: ["/echo", "/echo-async"])
    func contentLengthTooLarge(path: String) async throws {
        try await withServer(Self.router()) { server in
            // Only the headers are sent: the answer must not wait for the 65 bytes.
            let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 65\r\n\r\n"
            let response = try await WireClient.exchange(port: server.port, head)
            #expect(response.status == 413)
            #expect(response.text == "body over 64 bytes")
        }
    }

    @Test("a chunked body over the limit is answered bodyTooLarge at its end", arguments: ["/echo", "/echo-async"])
    func chunkedTooLarge(path: String) async throws {
        try await withServer(Self.router()) { server in
            let pieces = (0..<5).map { _ in [UInt8](repeating: UInt8(ascii: "z"), count: 20) }
            let response = try await WireClient.exchange(port: server.port, WireClient.chunkedRequest("POST", path, pieces: pieces))
            #expect(response.status == 413)
            #expect(response.text == "body over 64 bytes")
        }
    }

    @Test("a body sent to a route that takes none is refused")
    func bodyWhereNoneIsExpected() async throws {
        var router = Router(defaultBodyLimit: 0)
        router.add("GET", "/inline/{name}", .inline { request in .text(describe(request)) })
        try await withServer(router) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/inline/x", body: Array("x".utf8)))
            #expect(response.status == 413)
            #expect(response.text == "body over 0 bytes")
        }
    }

    @Test("an unknown route with a small body is answered 404, not 413")
    func unknownRouteWithBody() async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("POST", "/nowhere", body: Array("{}".utf8)))
            #expect(response.status == 404)
            #expect(response.text == "no route for POST /nowhere")
        }
    }

    @Test("one keep-alive connection carries inline and offloaded requests in turn")
    func keepAlive() async throws {
        try await withServer(Self.router()) { server in
            let first = Array("GET /offloaded/one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
            let second = Array("GET /inline/two HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
            let third = WireClient.request("GET", "/offloaded/three")
            let bytes = try await WireClient.raw(port: server.port, [first + second + third])
            let responses = try WireClient.parseSequence(bytes)
            #expect(responses.map(\.status) == [201, 200, 201])
            #expect(responses.count == 3)
            guard responses.count == 3 else { return }
            #expect(lines(responses[0]).contains("param.name=one"))
            #expect(lines(responses[1]).contains("param.name=two"))
            #expect(lines(responses[2]).contains("param.name=three"))
            #expect(await eventually { server.requestsInFlight == 0 })
        }
    }

    @Test("a request refused for its size is counted under its route")
    func tooLargeCountedUnderRoute() async throws {
        try await withServer(Self.router()) { server in
            let head = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 65\r\n\r\n"
            let response = try await WireClient.exchange(port: server.port, head)
            #expect(response.status == 413)
            let metrics = server.metrics
            #expect(await eventually { metrics.count(route: "/echo") + metrics.count(route: "unmatched") == 1 })
            // The request matched POST /echo; only its body was refused.
            #expect(metrics.count(route: "/echo", status: 413) == 1)
            #expect(metrics.count(route: "unmatched") == 0)
        }
    }

    @Test("shutdown waits for an offloaded request in flight")
    func shutdownWaitsForInFlight() async throws {
        let entered = Signal()
        let release = Signal()
        let order = Locked<[String]>([])
        var router = Router()
        router.add(
            "GET", "/slow",
            .offloaded { _ in
                .task {
                    entered.fire()
                    await release.wait()
                    order.withLock { $0.append("handler finished") }
                    return .text("finally")
                }
            })
        let server = Server(
            configuration: .init(host: "127.0.0.1", port: 0, threadPoolSize: 2, connectionTimeoutSeconds: 10),
            router: router, logger: quietLogger, renderError: testErrorRenderer
        )
        try server.start()
        let port = server.port
        async let answer = WireClient.exchange(port: port, WireClient.request("GET", "/slow"))
        await entered.wait()
        #expect(server.requestsInFlight == 1)

        // Shut down on another thread while the handler is still running.
        let stopped = Signal()
        Thread {
            server.shutdown(timeout: .seconds(20))
            order.withLock { $0.append("shutdown returned") }
            stopped.fire()
        }.start()
        // Give shutdown a moment to stop listening, then let the handler finish.
        try await Task.sleep(for: .milliseconds(100))
        #expect(!stopped.hasFired)
        release.fire()

        let response = try await answer
        #expect(response.status == 200)
        #expect(response.text == "finally")
        await stopped.wait()
        #expect(order.value == ["handler finished", "shutdown returned"])
        #expect(server.requestsInFlight == 0)
        // Nobody listens any more.
        await #expect(throws: WireError.self) {
            try await WireClient.exchange(port: port, WireClient.request("GET", "/slow"), timeoutSeconds: 2)
        }
    }

    @Test("shutdown answers 503 to work still running at its deadline, and the late work touches nothing")
    func shutdownAbandonsLateWork() async throws {
        let entered = Signal()
        let release = Signal()
        let finished = Signal()
        var router = Router()
        router.add(
            "GET", "/stuck",
            .offloaded { _ in
                .task {
                    entered.fire()
                    await release.wait()
                    finished.fire()
                    return .text("too late")
                }
            })
        let server = Server(
            configuration: .init(host: "127.0.0.1", port: 0, threadPoolSize: 2, connectionTimeoutSeconds: 10),
            router: router, logger: quietLogger, renderError: testErrorRenderer
        )
        try server.start()
        async let answer = WireClient.exchange(port: server.port, WireClient.request("GET", "/stuck"))
        await entered.wait()
        await onThread { server.shutdown(timeout: .milliseconds(200)) }
        let response = try await answer
        #expect(response.status == 503)
        #expect(response.text == "shutting down")
        // The work ends after the daemon stopped: resuming its connection now would be a use after free.
        release.fire()
        await finished.wait()
        try await Task.sleep(for: .milliseconds(50))
        #expect(server.requestsInFlight == 0)
    }

    @Test("an offloaded handler's first step refuses at once, without suspending")
    func offloadedRefusal() async throws {
        try await withServer(Self.router()) { server in
            let response = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/refused-before-suspending"))
            #expect(response.status == 400)
            #expect(response.text == "refused at once")
        }
    }

    @Test("start refuses a host that is not an IP address, and a port already taken")
    func startErrors() async throws {
        let bad = Server(configuration: .init(host: "localhost", port: 0), router: Router(), logger: quietLogger, renderError: testErrorRenderer)
        #expect(throws: ServerError.self) { try bad.start() }
        do {
            try bad.start()
        } catch let error as ServerError {
            #expect(error.description == "not an IP address: localhost")
        }
        try await withServer(Self.router()) { first in
            let second = Server(configuration: .init(host: "127.0.0.1", port: first.port), router: Router(), logger: quietLogger, renderError: testErrorRenderer)
            let error = #expect(throws: ServerError.self) { try second.start() }
            #expect(error?.description.hasPrefix("cannot listen on 127.0.0.1:\(first.port)") == true)
            // The first server is unaffected.
            let response = try await WireClient.exchange(port: first.port, WireClient.request("GET", "/inline/still-here"))
            #expect(response.status == 200)
        }
    }

    @Test("shutdown of a server that never started does nothing")
    func shutdownUnstarted() {
        let server = Server(configuration: .init(host: "127.0.0.1", port: 0), router: Router(), logger: quietLogger, renderError: testErrorRenderer)
        server.shutdown(timeout: .milliseconds(10))
        #expect(server.port == 0)
        #expect(server.requestsInFlight == 0)
    }

    @Test("metrics count requests by route and status")
    func metricsOverTheWire() async throws {
        try await withServer(Self.router()) { server in
            for name in ["a", "b", "c"] {
                _ = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/inline/\(name)"))
            }
            _ = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/offloaded/a"))
            _ = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/nope/1"))
            _ = try await WireClient.exchange(port: server.port, WireClient.request("GET", "/nope/2"))
            let metrics = server.metrics
            #expect(await eventually { metrics.count(route: "unmatched") == 2 && metrics.count(route: "/offloaded/{name}") == 1 })
            #expect(metrics.count(route: "/inline/{name}") == 3)
            #expect(metrics.count(route: "/inline/{name}", status: 200) == 3)
            #expect(metrics.count(route: "/inline/{name}", status: 500) == 0)
            #expect(metrics.count(route: "/offloaded/{name}", status: 201) == 1)
            #expect(metrics.count(route: "unmatched", status: 404) == 2)
            let text = metrics.render()
            #expect(text.contains("tenantry_http_requests_total{method=\"GET\",route=\"/inline/{name}\",status=\"200\"} 3\n"))
            #expect(text.contains("tenantry_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 2\n"))
            #expect(text.contains("tenantry_http_request_duration_seconds_bucket{method=\"GET\",route=\"/inline/{name}\",le=\"+Inf\"} 3\n"))
            #expect(text.contains("tenantry_http_request_duration_seconds_count{method=\"GET\",route=\"/inline/{name}\"} 3\n"))
            #expect(text.contains("tenantry_http_request_duration_seconds_sum{method=\"GET\",route=\"/offloaded/{name}\"} "))
        }
    }
}

@Suite("HTTPMetrics")
struct HTTPMetricsTests {
    @Test("counts by method, route and status; empty routes count as unmatched")
    func counts() {
        let metrics = HTTPMetrics()
        metrics.record(method: "GET", route: "/a", status: 200, seconds: 0.001)
        metrics.record(method: "GET", route: "/a", status: 200, seconds: 0.002)
        metrics.record(method: "POST", route: "/a", status: 400, seconds: 0.003)
        metrics.record(method: "GET", route: "", status: 404, seconds: 0.0001)
        #expect(metrics.count(route: "/a") == 3)
        #expect(metrics.count(route: "/a", status: 200) == 2)
        #expect(metrics.count(route: "/a", status: 400) == 1)
        #expect(metrics.count(route: "unmatched") == 1)
        #expect(metrics.count(route: "") == 0)
        #expect(metrics.count(route: "/b") == 0)
    }

    @Test("renders Prometheus text with cumulative buckets, sum and count")
    func render() throws {
        let metrics = HTTPMetrics()
        metrics.record(method: "GET", route: "/a", status: 200, seconds: 0.0007)  // ≤ 0.001
        metrics.record(method: "GET", route: "/a", status: 200, seconds: 0.02)  // ≤ 0.025
        metrics.record(method: "GET", route: "/a", status: 503, seconds: 7)  // beyond the last bucket
        let text = metrics.render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE tenantry_http_requests_total counter"))
        #expect(lines.contains("# TYPE tenantry_http_request_duration_seconds histogram"))
        #expect(lines.contains("tenantry_http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 2"))
        #expect(lines.contains("tenantry_http_requests_total{method=\"GET\",route=\"/a\",status=\"503\"} 1"))
        let labels = "method=\"GET\",route=\"/a\""
        #expect(lines.contains("tenantry_http_request_duration_seconds_bucket{\(labels),le=\"0.0005\"} 0"))
        #expect(lines.contains("tenantry_http_request_duration_seconds_bucket{\(labels),le=\"0.001\"} 1"))
        #expect(lines.contains("tenantry_http_request_duration_seconds_bucket{\(labels),le=\"0.01\"} 1"))
        #expect(lines.contains("tenantry_http_request_duration_seconds_bucket{\(labels),le=\"0.025\"} 2"))
        #expect(lines.contains("tenantry_http_request_duration_seconds_bucket{\(labels),le=\"5.0\"} 2"))
        #expect(lines.contains("tenantry_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} 3"))
        #expect(lines.contains("tenantry_http_request_duration_seconds_count{\(labels)} 3"))
        let sumLine = try #require(lines.first { $0.hasPrefix("tenantry_http_request_duration_seconds_sum{\(labels)} ") })
        let sum = try #require(Double(sumLine.split(separator: " ").last ?? ""))
        #expect(abs(sum - 7.0207) < 1e-9)
        // One bucket line per bound plus +Inf.
        #expect(lines.filter { $0.hasPrefix("tenantry_http_request_duration_seconds_bucket{\(labels),") }.count == HTTPMetrics.buckets.count + 1)
        // Buckets never decrease.
        let values = lines.filter { $0.hasPrefix("tenantry_http_request_duration_seconds_bucket{\(labels),") }.compactMap { Int($0.split(separator: " ").last ?? "") }
        #expect(values == values.sorted())
    }

    @Test("escapes quotes and backslashes in label values")
    func escaping() {
        let metrics = HTTPMetrics()
        metrics.record(method: "GET", route: "/a\"b\\c", status: 200, seconds: 0.1)
        #expect(metrics.render().contains("route=\"/a\\\"b\\\\c\""))
    }

    @Test("an empty registry renders only the headers")
    func empty() {
        let text = HTTPMetrics().render()
        #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("#") })
        #expect(text.contains("# HELP tenantry_http_requests_total"))
    }
}
