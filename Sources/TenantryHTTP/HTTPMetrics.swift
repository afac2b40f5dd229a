import Foundation
import Synchronization

/// Request counts and latency histograms by route, rendered in Prometheus text format.
/// Each polling thread records into a shard of its own (by thread), so no lock is shared
/// by every request; rendering adds the shards up.
public final class HTTPMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    public static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private struct CountKey: Hashable {
        let method: String
        let route: String
        let status: Int
    }
    private struct LatencyKey: Hashable {
        let method: String
        let route: String
    }
    private struct Histogram {
        var counts = [Int](repeating: 0, count: HTTPMetrics.buckets.count)
        var count = 0
        var sum = 0.0

        mutating func record(_ seconds: Double) {
            if let bucket = HTTPMetrics.buckets.firstIndex(where: { seconds <= $0 }) { counts[bucket] += 1 }
            count += 1
            sum += seconds
        }
    }
    private struct State {
        var requests: [CountKey: Int] = [:]
        var latencies: [LatencyKey: Histogram] = [:]

        mutating func add(_ other: State) {
            requests.merge(other.requests, uniquingKeysWith: +)
            latencies.merge(other.latencies) { mine, theirs in
                Histogram(counts: zip(mine.counts, theirs.counts).map(+), count: mine.count + theirs.count, sum: mine.sum + theirs.sum)
            }
        }
    }

    private final class Shard: Sendable {
        let state = Mutex(State())
    }

    private static let shardCount = 16
    private let shards = (0..<HTTPMetrics.shardCount).map { _ in Shard() }

    public init() {}

    /// The calling thread's shard: its id, scrambled (Fibonacci hashing) to the top four bits.
    private var shard: Shard {
        shards[Int(truncatingIfNeeded: (UInt64(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 60)]
    }

    private var total: State {
        var total = State()
        for shard in shards { total.add(shard.state.withLock { $0 }) }
        return total
    }

    public func record(method: String, route: String, status: Int, seconds: Double) {
        // Unmatched paths share one label so that scanners cannot grow the series without bound.
        let route = route.isEmpty ? "unmatched" : route
        shard.state.withLock { state in
            state.requests[CountKey(method: method, route: route, status: status), default: 0] += 1
            // In place: a copy out of the dictionary and back would copy its bucket array.
            state.latencies[LatencyKey(method: method, route: route), default: Histogram()].record(seconds)
        }
    }

    public func count(route: String, status: Int? = nil) -> Int {
        total.requests.filter { $0.key.route == route && (status == nil || $0.key.status == status) }.values.reduce(0, +)
    }

    /// The Prometheus exposition of every series recorded so far.
    public func render() -> String {
        let snapshot = total
        var out = "# HELP tenantry_http_requests_total HTTP requests answered, by route and status.\n"
        out += "# TYPE tenantry_http_requests_total counter\n"
        for (key, value) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "tenantry_http_requests_total{method=\"\(key.method)\",route=\"\(escape(key.route))\",status=\"\(key.status)\"} \(value)\n"
        }
        out += "# HELP tenantry_http_request_duration_seconds Time from the request's headers to its response, by route.\n"
        out += "# TYPE tenantry_http_request_duration_seconds histogram\n"
        for (key, histogram) in snapshot.latencies.sorted(by: { ($0.key.route, $0.key.method) < ($1.key.route, $1.key.method) }) {
            let labels = "method=\"\(key.method)\",route=\"\(escape(key.route))\""
            var cumulative = 0
            for (index, bound) in Self.buckets.enumerated() {
                cumulative += histogram.counts[index]
                out += "tenantry_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "tenantry_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(histogram.count)\n"
            out += "tenantry_http_request_duration_seconds_sum{\(labels)} \(histogram.sum)\n"
            out += "tenantry_http_request_duration_seconds_count{\(labels)} \(histogram.count)\n"
        }
        return out
    }

    private func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
