/// A complete request as the responder sees it: the head and the whole body.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    /// The body, at most the server's body limit; empty when there is none.
    public var body: [UInt8]
    /// The client's address as the socket sees it (a proxy's, behind one); nil when unknown.
    public var remoteAddress: String?

    public init(head: HTTPRequestHead, body: [UInt8] = [], remoteAddress: String? = nil) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public var method: String { head.method }
    public var path: Substring { head.path }
    public var query: Substring? { head.query }
    public var headers: HTTPHeaders { head.headers }
}
