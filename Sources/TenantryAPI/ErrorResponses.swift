import Logging
import TenantryCore
import TenantryHTTP

/// The one place where failures become the seed's `{"code", "message"}` answers, with the
/// seed's code → HTTP status table. Internal causes are logged, never sent.
public enum ErrorResponses {
    /// The seed's error codes and the HTTP status each maps to, with gRPC's UNAVAILABLE (14)
    /// for conditions a retry outlives: 500 is kept for bugs.
    public static let statusByCode: [Int: Int] = [3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 9: 402, 12: 501, 13: 500, 14: 503, 16: 401]

    public static func renderer(logger: Logger) -> Server.ErrorRenderer {
        { error in render(error, logger: logger) }
    }

    static func render(_ error: any Error, logger: Logger) -> Response {
        switch error {
        case let domain as DomainError:
            var response = answer(code: code(of: domain), message: domain.message)
            switch domain {
            case .resourceExhausted(_, let retryAfter?), .unavailable(_, let retryAfter): response.setHeader("Retry-After", String(retryAfter))
            case .unauthenticated: response.setHeader("WWW-Authenticate", "Bearer")
            case .internalError(let cause): logger.error("internal error", metadata: ["cause": "\(cause)"])
            default: break
            }
            return response
        case let http as HTTPError:
            switch http {
            case .routeNotFound(let method, let path):
                return answer(code: 5, message: "no route for \(method) \(path)")
            case .methodNotAllowed(let method, let path, let allowed):
                return answer(code: 5, message: "\(method) is not served on \(path); use \(allowed.joined(separator: " or "))")
            case .bodyTooLarge(let limit):
                return answer(code: 3, message: "the request body is larger than the \(limit) bytes this route accepts")
            case .malformedMultipart(let reason):
                return answer(code: 3, message: reason)
            case .shuttingDown:
                var response = answer(code: 14, message: "the server is shutting down; retry shortly")
                response.setHeader("Retry-After", "5")
                return response
            }
        case let syntax as JSONParser.SyntaxError:
            return answer(code: 3, message: syntax.description)
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)"])
            return answer(code: 13, message: "internal error")
        }
    }

    public static func code(of error: DomainError) -> Int {
        switch error {
        case .invalidArgument: 3
        case .notFound: 5
        case .alreadyExists: 6
        case .permissionDenied: 7
        case .resourceExhausted: 8
        case .failedPrecondition: 9
        case .unimplemented: 12
        case .internalError: 13
        case .unauthenticated: 16
        case .unavailable: 14
        }
    }

    static func answer(code: Int, message: String) -> Response {
        Response.json(JSON.object([("code", .integer(code)), ("message", .string(message))]).bytes, status: statusByCode[code] ?? 500)
    }
}
