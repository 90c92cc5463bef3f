/// API.md's protocol timeouts; tests configure short ones.
public struct HTTPTimeouts: Sendable {
    /// A request head must arrive whole within this of its first byte (else 408 and close).
    public var head: Duration = .seconds(10)
    /// A body must make progress at least this often (else 408 and close).
    public var body: Duration = .seconds(30)
    /// A body must arrive whole within this of its head, however steadily it trickles
    /// (else 408 and close).
    public var wholeBody: Duration = .seconds(120)
    /// A keep-alive connection with no request for this long is closed.
    public var idle: Duration = .seconds(60)
    /// A response write that makes no progress for this long ends the connection.
    public var write: Duration = .seconds(30)

    public init() {}
}
