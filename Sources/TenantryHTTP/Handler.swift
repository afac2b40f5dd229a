/// What a route runs. Inline handlers run on libmicrohttpd's polling thread and must be
/// short (indexed reads, no hashing, no writes); offloaded handlers run after the
/// connection is suspended, and it is resumed with their response.
public enum Handler: Sendable {
    case inline(@Sendable (Request) throws -> Response)
    case offloaded(@Sendable (Request) async throws -> Response)
}
