import TroupeActors
import TroupeCore
import TroupeTransport

/// An error a client caused or can act on, in API.md's table: its status, code and message,
/// and what some codes add (`Retry-After`, `required_scope`, `field_errors`, `Allow`).
///
/// Handlers throw it; ``APIResponder`` turns it into the one error body. Anything else thrown
/// is a bug: a 500 whose message leaks nothing.
struct APIError: Error, Sendable {
    /// API.md's error codes.
    enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case unauthorized
        case keyExpired = "key_expired"
        case keyRevoked = "key_revoked"
        case keyDisabled = "key_disabled"
        case forbidden
        case missingScope = "missing_scope"
        case planRequired = "plan_required"
        case notFound = "not_found"
        case conflict
        case unsupportedMediaType = "unsupported_media_type"
        case validationError = "validation_error"
        case idempotencyKeyReused = "idempotency_key_reused"
        case rateLimited = "rate_limited"
        case internalError = "internal_error"
        case overloaded

        var status: Int {
            switch self {
            case .invalidRequest: 400
            case .unauthorized, .keyExpired, .keyRevoked, .keyDisabled: 401
            case .forbidden, .missingScope, .planRequired: 403
            case .notFound: 404
            case .conflict: 409
            case .unsupportedMediaType: 415
            case .validationError, .idempotencyKeyReused: 422
            case .rateLimited: 429
            case .internalError: 500
            case .overloaded: 503
            }
        }
    }

    /// One rule a field broke (422).
    struct FieldError: Sendable, Equatable {
        let field: String
        let message: String
    }

    let code: Code
    let message: String
    var fieldErrors: [FieldError] = []
    var requiredScope: String?
    /// Seconds, for 429 and 503.
    var retryAfterSeconds: Int64?
    /// Headers to send with the error (the rate-limit headers of a 429).
    var headers: HTTPHeaders = [:]

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func validation(_ errors: [FieldError]) -> APIError {
        var error = APIError(.validationError, errors.count == 1 ? errors[0].message : "The request has \(errors.count) invalid fields.")
        error.fieldErrors = errors
        return error
    }

    static func notFound(_ what: String, _ id: String) -> APIError {
        APIError(.notFound, "\(what) \(id) was not found.")
    }

    /// The response in API.md's error shape.
    func response(requestID: String) -> HTTPResponse {
        var error = JSONObject([
            ("code", .string(code.rawValue)), ("message", .string(message)), ("status", .int(Int64(code.status))),
            ("request_id", .string(requestID)),
        ])
        if let requiredScope { error["required_scope"] = .string(requiredScope) }
        if code == .validationError {
            error["field_errors"] = .array(fieldErrors.map { ["field": .string($0.field), "message": .string($0.message)] })
        }
        var headers = headers
        headers.set("X-Request-Id", requestID)
        if let retryAfterSeconds { headers.set("Retry-After", String(retryAfterSeconds)) }
        return .json(code.status, JSON.object(JSONObject([("error", .object(error))])).bytes, headers: headers)
    }
}
