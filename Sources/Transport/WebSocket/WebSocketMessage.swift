/// A whole WebSocket message (RFC 6455 §5.6), its fragments joined, or a control frame.
public enum WebSocketMessage: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// A close frame's status code (nil when it had none) and reason.
    case close(code: UInt16?, reason: String)
}

/// A peer broke the protocol: the connection is closed with ``closeCode`` (RFC 6455 §7.4.1:
/// 1002 protocol error, 1007 invalid UTF-8, 1009 message too big).
public struct WebSocketProtocolError: Error, Sendable, Equatable {
    public let closeCode: UInt16
    public let message: String

    public static func protocolError(_ message: String) -> WebSocketProtocolError { .init(closeCode: 1002, message: message) }
    public static func invalidText(_ message: String) -> WebSocketProtocolError { .init(closeCode: 1007, message: message) }
    public static func tooBig(_ message: String) -> WebSocketProtocolError { .init(closeCode: 1009, message: message) }
}
