/// A request the parser refuses: the status to answer with, a machine-readable code in API.md's
/// error vocabulary, and a message for people. The connection is closed after answering.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func badRequest(_ message: String) -> HTTPParseError {
        HTTPParseError(status: 400, code: "invalid_request", message: message)
    }

    static func headersTooLarge(limit: Int) -> HTTPParseError {
        HTTPParseError(status: 431, code: "headers_too_large", message: "The request head is larger than \(limit) bytes.")
    }

    static func uriTooLong(limit: Int) -> HTTPParseError {
        HTTPParseError(status: 414, code: "uri_too_long", message: "The request target is longer than \(limit) bytes.")
    }

    static func payloadTooLarge(limit: Int) -> HTTPParseError {
        HTTPParseError(status: 413, code: "payload_too_large", message: "The request body is larger than \(limit) bytes.")
    }

    public var description: String { "\(status) \(code): \(message)" }
}
