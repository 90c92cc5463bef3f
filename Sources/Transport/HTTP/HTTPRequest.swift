/// A complete request as the responder sees it: the head and the whole body.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    /// The body, at most the server's body limit; empty when there is none.
    public var body: [UInt8]

    public init(head: HTTPRequestHead, body: [UInt8] = []) {
        self.head = head
        self.body = body
    }

    public var method: String { head.method }
    public var path: Substring { head.path }
    public var query: Substring? { head.query }
    public var headers: HTTPHeaders { head.headers }
}
