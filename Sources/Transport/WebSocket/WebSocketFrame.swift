/// WebSocket frames as bytes (RFC 6455 §5.2): what the server sends (unmasked) and, for tests
/// and clients, masked frames.
public enum WebSocketFrame {
    /// §5.2 opcodes.
    public enum Opcode: UInt8, Sendable {
        case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA

        var isControl: Bool { rawValue & 0x8 != 0 }
    }

    /// One frame: FIN set unless `final` is false; masked with `mask` when given (a client's).
    public static func encode(_ opcode: Opcode, _ payload: [UInt8], final: Bool = true, mask: [UInt8]? = nil) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(payload.count + 14)
        frame.append((final ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        switch payload.count {
        case 0...125:
            frame.append(maskBit | UInt8(payload.count))
        case 126...0xFFFF:
            frame.append(maskBit | 126)
            frame.append(UInt8(payload.count >> 8))
            frame.append(UInt8(truncatingIfNeeded: payload.count))
        default:
            frame.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> UInt64(shift))) }
        }
        if let mask, mask.count == 4 {
            frame += mask
            for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index & 3]) }
        } else {
            frame += payload
        }
        return frame
    }

    /// A text frame.
    public static func text(_ text: String) -> [UInt8] { encode(.text, Array(text.utf8)) }

    /// A close frame with `code` and `reason` (the reason cut to fit a control frame's 125 bytes).
    public static func close(code: UInt16, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(truncatingIfNeeded: code)]
        var reasonBytes = Array(reason.utf8.prefix(123))
        while String(validating: reasonBytes, as: UTF8.self) == nil { reasonBytes.removeLast() }  // never cut inside a character
        payload += reasonBytes
        return encode(.close, payload)
    }
}
