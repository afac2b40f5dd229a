/// Failures the HTTP layer itself detects, before any handler runs. The application
/// renders them (and its own errors) through the server's error renderer.
public enum HTTPError: Error, Sendable, Equatable {
    case routeNotFound(method: String, path: String)
    case methodNotAllowed(method: String, path: String, allowed: [String])
    case bodyTooLarge(limit: Int)
    case malformedMultipart(String)
    /// The server stopped before the request's work answered.
    case shuttingDown
}
