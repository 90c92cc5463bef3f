/// A request line and its header fields, as parsed.
public struct HTTPRequestHead: Sendable, Equatable {
    /// The method token, case-sensitive as RFC 9110 §9.1 says (`GET`, `POST`, …).
    public var method: String
    /// The request-target exactly as sent (origin form: path and query).
    public var target: String
    /// `HTTP/1.x`'s minor version: 0 or 1.
    public var minorVersion: Int
    public var headers: HTTPHeaders
    /// Whether the connection stays open after this exchange (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// The client sent `Expect: 100-continue` and waits for a 100 before sending the body.
    public var expectsContinue: Bool

    public init(
        method: String, target: String, minorVersion: Int = 1, headers: HTTPHeaders = [:],
        keepAlive: Bool = true, expectsContinue: Bool = false
    ) {
        self.method = method
        self.target = target
        self.minorVersion = minorVersion
        self.headers = headers
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
    }

    /// The target's path, before any `?`.
    public var path: Substring {
        target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
    }

    /// The target's query, after the first `?`, or nil.
    public var query: Substring? {
        target.firstIndex(of: "?").map { target[target.index(after: $0)...] }
    }
}
