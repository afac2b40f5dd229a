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
    /// A passing condition on this side (the database cannot be written, shutdown): retry later.
    case unavailable(String, retryAfterSeconds: Int)
}

extension DomainError {
    /// The seed's name of the error's code, prefixed as in per-item results (`SC_NOT_FOUND`).
    public var statusName: String {
        switch self {
        case .invalidArgument: "SC_INVALID_ARGUMENT"
        case .notFound: "SC_NOT_FOUND"
        case .alreadyExists: "SC_ALREADY_EXISTS"
        case .permissionDenied: "SC_PERMISSION_DENIED"
        case .resourceExhausted: "SC_RESOURCE_EXHAUSTED"
        case .failedPrecondition: "SC_FAILED_PRECONDITION"
        case .unimplemented: "SC_UNIMPLEMENTED"
        case .internalError: "SC_INTERNAL"
        case .unauthenticated: "SC_UNAUTHENTICATED"
        case .unavailable: "SC_UNAVAILABLE"
        }
    }

    /// What may be told to the caller.
    public var message: String {
        switch self {
        case .invalidArgument(let m), .notFound(let m), .alreadyExists(let m), .permissionDenied(let m),
            .failedPrecondition(let m), .unimplemented(let m), .unauthenticated(let m):
            m
        case .resourceExhausted(let m, _), .unavailable(let m, _): m
        case .internalError: "internal error"
        }
    }
}
