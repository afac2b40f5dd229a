/// The failures the domain reports, named after the seed's error codes. The API layer maps
/// each to its code and HTTP status in one place.
public enum DomainError: Error, Equatable, Sendable {
    case invalidArgument(String)
    case notFound(String)
    case alreadyExists(String)
    case permissionDenied(String)
    case resourceExhausted(String, retryAfterSeconds: Int? = nil)
    case failedPrecondition(String)
    case unimplemented(String)
    /// The message is logged, never sent.
    case internalError(String)
    case unauthenticated(String)
}
