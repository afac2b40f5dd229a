/// What a route runs. Inline handlers run on libmicrohttpd's polling thread and must be
/// short (indexed reads, no hashing, no writes). An offloaded handler is in two steps: its
/// first runs on the polling thread (the checks that answer at once, such as credentials)
/// and returns the work; the connection is then suspended, and resumed with the work's
/// response.
public enum Handler: Sendable {
    public typealias Work = @Sendable () async throws -> Response

    case inline(@Sendable (Request) throws -> Response)
    case offloaded(@Sendable (Request) throws -> Work)
}
