/// Reads WebSocket frames from bytes as they arrive, however they are cut, and hands out whole
/// messages (RFC 6455 §5). A value type with no I/O, like ``HTTPRequestParser``: fed bytes in
/// tests, a socket's reads in the server.
///
/// What it refuses, with the close code the connection is then closed with:
/// - 1002: a client frame without a mask (when masks are required), reserved bits or opcodes,
///   a control frame fragmented or over 125 bytes, a length not in its shortest form, a
///   continuation with no message begun or a new message before the last one ended, a close
///   frame of one byte or with a code no endpoint may send;
/// - 1007: a text message, or a close reason, that is not UTF-8;
/// - 1009: a frame or a message past ``maxMessageBytes``.
///
/// Control frames may come between a message's fragments (§5.4) and are handed out at once.
public struct WebSocketFrameParser: Sendable {
    public let maxMessageBytes: Int
    public let requireMask: Bool

    private var buffer: [UInt8] = []
    private var start = 0
    /// The message being assembled from fragments: its opcode and payload so far.
    private var fragmented: (opcode: WebSocketFrame.Opcode, payload: [UInt8])?

    public init(maxMessageBytes: Int = 1 << 20, requireMask: Bool = true) {
        self.maxMessageBytes = maxMessageBytes
        self.requireMask = requireMask
    }

    /// Bytes received and not yet parsed.
    public var bufferedCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, or nil until more bytes arrive.
    public mutating func next() throws(WebSocketProtocolError) -> WebSocketMessage? {
        while let frame = try nextFrame() {
            if let message = try assemble(frame) { return message }
        }
        return nil
    }

    private struct Frame {
        let final: Bool
        let opcode: WebSocketFrame.Opcode
        let payload: [UInt8]
    }

    private mutating func nextFrame() throws(WebSocketProtocolError) -> Frame? {
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let first = buffer[start]
        let second = buffer[start + 1]
        guard first & 0x70 == 0 else { throw .protocolError("reserved bits are set, and no extension was agreed") }
        guard let opcode = WebSocketFrame.Opcode(rawValue: first & 0x0F) else {
            throw .protocolError("opcode \(first & 0x0F) is reserved")
        }
        let final = first & 0x80 != 0
        let masked = second & 0x80 != 0
        if requireMask, !masked { throw .protocolError("a client's frames must be masked") }
        if opcode.isControl, !final { throw .protocolError("a control frame cannot be fragmented") }
        var header = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[start + 2]) << 8 | UInt64(buffer[start + 3])
            guard length >= 126 else { throw .protocolError("a length under 126 must use the short form") }
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = (0..<8).reduce(0) { $0 << 8 | UInt64(buffer[start + 2 + $1]) }
            guard length >> 63 == 0 else { throw .protocolError("a 64-bit length must have its top bit clear") }
            guard length > 0xFFFF else { throw .protocolError("a length under 65,536 must use a shorter form") }
            header = 10
        }
        if opcode.isControl, length > 125 { throw .protocolError("a control frame carries at most 125 bytes") }
        let sofar = fragmented?.payload.count ?? 0
        guard length <= UInt64(maxMessageBytes - min(sofar, maxMessageBytes)) else {
            throw .tooBig("a message may be at most \(maxMessageBytes) bytes")
        }
        let maskStart = start + header
        if masked { header += 4 }
        let total = header + Int(length)
        guard available >= total else { return nil }
        var payload = Array(buffer[(start + header)..<(start + total)])
        if masked {
            let mask = buffer[maskStart..<maskStart + 4]
            for index in payload.indices { payload[index] ^= mask[maskStart + (index & 3)] }
        }
        start += total
        return Frame(final: final, opcode: opcode, payload: payload)
    }

    private mutating func assemble(_ frame: Frame) throws(WebSocketProtocolError) -> WebSocketMessage? {
        switch frame.opcode {
        case .ping: return .ping(frame.payload)
        case .pong: return .pong(frame.payload)
        case .close: return try Self.close(frame.payload)
        case .continuation:
            guard var message = fragmented else { throw .protocolError("a continuation frame with no message begun") }
            message.payload += frame.payload
            guard frame.final else {
                fragmented = message
                return nil
            }
            fragmented = nil
            return try Self.message(message.opcode, message.payload)
        case .text, .binary:
            guard fragmented == nil else { throw .protocolError("a new message began before the last one ended") }
            guard frame.final else {
                fragmented = (frame.opcode, frame.payload)
                return nil
            }
            return try Self.message(frame.opcode, frame.payload)
        }
    }

    private static func message(_ opcode: WebSocketFrame.Opcode, _ payload: [UInt8]) throws(WebSocketProtocolError) -> WebSocketMessage {
        guard opcode == .text else { return .binary(payload) }
        guard let text = String(validating: payload, as: UTF8.self) else { throw .invalidText("a text message must be UTF-8") }
        return .text(text)
    }

    /// §5.5.1 and §7.4: no body, or a code and a UTF-8 reason.
    private static func close(_ payload: [UInt8]) throws(WebSocketProtocolError) -> WebSocketMessage {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw .protocolError("a close frame's body starts with a two-byte code") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        let sendable = (1000...1003).contains(code) || (1007...1011).contains(code) || (3000...4999).contains(code)
        guard sendable else { throw .protocolError("close code \(code) may not be sent") }
        guard let reason = String(validating: payload[2...], as: UTF8.self) else { throw .invalidText("a close reason must be UTF-8") }
        return .close(code: code, reason: reason)
    }
}
