import TroupeCore

/// A response: status, headers, and a body that is either bytes or written piece by piece.
///
/// The server adds `Date`, `Content-Length` (or `Transfer-Encoding: chunked` for a stream) and
/// `Connection: close` when it closes; the responder sets everything else.
public struct HTTPResponse: Sendable {
    /// The body of a response.
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Written with chunked encoding, each piece flushed as written; the closure returns
        /// when the body is done. A write throws when the client has gone away.
        case stream(@Sendable (HTTPBodyWriter) async throws -> Void)
        /// A `101 Switching Protocols`: once the head is written, the closure owns the
        /// connection (``UpgradedConnection``); when it returns, the connection closes.
        case upgrade(@Sendable (UpgradedConnection) async throws -> Void)
    }

    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: Int, headers: HTTPHeaders = [:], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response from serialized bytes.
    public static func json(_ status: Int, _ bytes: [UInt8], headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", "application/json")
        return HTTPResponse(status: status, headers: headers, body: .bytes(bytes))
    }

    /// An error in API.md's one error shape:
    /// `{"error": {"code", "message", "status", "request_id"}}`, with `X-Request-Id` set.
    public static func error(
        _ status: Int, code: String, message: String, requestID: String, headers: HTTPHeaders = [:]
    ) -> HTTPResponse {
        let body: JSON = ["error": ["code": .string(code), "message": .string(message), "status": .int(Int64(status)),
                                    "request_id": .string(requestID)]]
        var headers = headers
        headers.set("X-Request-Id", requestID)
        return .json(status, body.bytes, headers: headers)
    }
}

/// The seam between the transport and the application: one call per request.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) async -> HTTPResponse
}

/// Writes a streaming body; each write is sent (as one chunk) before it returns.
public protocol HTTPBodyWriter: Sendable {
    /// Sends `bytes` now. Throws `CancellationError` when the client has gone away or stopped
    /// reading past the write timeout.
    func write(_ bytes: [UInt8]) async throws

    /// Registers how to end the producer when the server ends the stream (a drain): `stop` is
    /// called once — at once if the server drains already — and the producer should then return.
    func onStop(_ stop: @escaping @Sendable () -> Void)
}

/// Request IDs for responses the transport answers itself (API.md: echo a client's
/// `X-Request-Id` of 1–128 printable ASCII characters, else make a new one).
public enum RequestID {
    public static func resolve(_ headers: HTTPHeaders?) -> String {
        if let given = headers?["X-Request-Id"], (1...128).contains(given.utf8.count),
            given.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
        {
            return given
        }
        return CorrelationID.make(prefix: "req")
    }
}
