import Testing
import TroupeCore

@testable import TroupeTransport

/// RFC 6455 framing fed bytes: its §5.7 examples, a conversation cut at every byte, and every
/// refusal with its close code.
@Suite(.timeLimit(.minutes(5)))
struct WebSocketFrameParserTests {
    private let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    private func messages(_ bytes: [UInt8], requireMask: Bool = true, max: Int = 1 << 20) throws(WebSocketProtocolError) -> [WebSocketMessage] {
        var parser = WebSocketFrameParser(maxMessageBytes: max, requireMask: requireMask)
        parser.append(bytes)
        var out: [WebSocketMessage] = []
        while let message = try parser.next() { out.append(message) }
        return out
    }

    private func closeCode(_ bytes: [UInt8], max: Int = 1 << 20) -> UInt16? {
        do {
            _ = try messages(bytes, max: max)
            return nil
        } catch {
            return error.closeCode
        }
    }

    @Test func theRFCsExamples() throws {
        let hello = Array("Hello".utf8)
        #expect(try messages([0x81, 0x05] + hello, requireMask: false) == [.text("Hello")])
        #expect(try messages([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) == [.text("Hello")])
        #expect(try messages([0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F], requireMask: false) == [.text("Hello")])
        #expect(try messages([0x89, 0x05] + hello, requireMask: false) == [.ping(hello)])
        #expect(try messages([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) == [.pong(hello)])
        let kilo = [UInt8](repeating: 7, count: 256)
        #expect(try messages([0x82, 0x7E, 0x01, 0x00] + kilo, requireMask: false) == [.binary(kilo)])
        let big = [UInt8](repeating: 9, count: 65_536)
        #expect(try messages([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] + big, requireMask: false) == [.binary(big)])
        #expect(WebSocketFrame.encode(.binary, big).prefix(10) == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(WebSocketFrame.text("Hello") == [0x81, 0x05] + hello)
        #expect(WebSocketFrame.encode(.text, hello, mask: mask) == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    @Test func aConversationReadsTheSameWholeSplitAtEveryByteAndByteByByte() throws {
        let conversation = WebSocketFrame.encode(.text, Array("one".utf8), mask: mask)
            + WebSocketFrame.encode(.text, Array("caf".utf8), final: false, mask: mask)
            + WebSocketFrame.encode(.ping, Array("in between".utf8), mask: mask)
            + WebSocketFrame.encode(.continuation, [0xC3], final: false, mask: mask)  // "é" cut across fragments
            + WebSocketFrame.encode(.continuation, [0xA9], mask: mask)
            + WebSocketFrame.encode(.binary, [UInt8](repeating: 1, count: 300), mask: mask)
            + WebSocketFrame.encode(.pong, [], mask: mask)
            + WebSocketFrame.encode(.close, [0x03, 0xE8] + Array("bye".utf8), mask: mask)
        let expected: [WebSocketMessage] = [.text("one"), .ping(Array("in between".utf8)), .text("café"),
                                            .binary([UInt8](repeating: 1, count: 300)), .pong([]), .close(code: 1000, reason: "bye")]
        #expect(try messages(conversation) == expected)
        for cut in 1..<conversation.count {
            var parser = WebSocketFrameParser()
            var got: [WebSocketMessage] = []
            parser.append(conversation[..<cut])
            while let message = try parser.next() { got.append(message) }
            parser.append(conversation[cut...])
            while let message = try parser.next() { got.append(message) }
            #expect(got == expected, "cut at \(cut)")
        }
        var parser = WebSocketFrameParser()
        var got: [WebSocketMessage] = []
        for byte in conversation {
            parser.append(CollectionOfOne(byte))
            while let message = try parser.next() { got.append(message) }
        }
        #expect(got == expected)
        #expect(parser.bufferedCount == 0)
    }

    @Test func everyRefusalHasItsCloseCode() {
        let m = mask
        #expect(closeCode([0x81, 0x05] + Array("Hello".utf8)) == 1002, "an unmasked client frame")
        #expect(closeCode(WebSocketFrame.encode(.text, [], mask: m).with(first: 0xC1)) == 1002, "a reserved bit")
        #expect(closeCode([0x83, 0x80] + m) == 1002, "a reserved opcode")
        #expect(closeCode(WebSocketFrame.encode(.ping, [], final: false, mask: m)) == 1002, "a fragmented ping")
        #expect(closeCode(WebSocketFrame.encode(.ping, [UInt8](repeating: 0, count: 126), mask: m)) == 1002, "a ping over 125 bytes")
        #expect(closeCode([0x81, 0xFE, 0x00, 0x05] + m + [1, 2, 3, 4, 5]) == 1002, "a length not in its shortest form")
        #expect(closeCode([0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + m) == 1002, "a 64-bit length under 65,536")
        #expect(closeCode([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0] + m) == 1002, "a 64-bit length with its top bit set")
        #expect(closeCode(WebSocketFrame.encode(.continuation, [1], mask: m)) == 1002, "a continuation with nothing begun")
        #expect(closeCode(WebSocketFrame.encode(.text, [0x61], final: false, mask: m) + WebSocketFrame.encode(.text, [0x62], mask: m)) == 1002,
                "a new message inside a fragmented one")
        #expect(closeCode(WebSocketFrame.encode(.text, [0xC3, 0x28], mask: m)) == 1007, "text that is not UTF-8")
        #expect(closeCode(WebSocketFrame.encode(.text, [0x61], final: false, mask: m) + WebSocketFrame.encode(.continuation, [0xFF], mask: m)) == 1007)
        #expect(closeCode(WebSocketFrame.encode(.binary, [UInt8](repeating: 0, count: 101), mask: m), max: 100) == 1009, "a frame too big")
        #expect(closeCode(WebSocketFrame.encode(.binary, [UInt8](repeating: 0, count: 60), final: false, mask: m)
            + WebSocketFrame.encode(.continuation, [UInt8](repeating: 0, count: 60), mask: m), max: 100) == 1009, "a message too big")
        #expect(closeCode(WebSocketFrame.encode(.close, [0x03], mask: m)) == 1002, "a close body of one byte")
        #expect(closeCode(WebSocketFrame.encode(.close, [0x03, 0xED], mask: m)) == 1002, "close code 1005 is never sent")
        #expect(closeCode(WebSocketFrame.encode(.close, [0x03, 0xE8, 0xFF], mask: m)) == 1007, "a close reason that is not UTF-8")
        #expect((try? messages(WebSocketFrame.encode(.close, [], mask: m))) == [.close(code: nil, reason: "")])
        #expect((try? messages(WebSocketFrame.encode(.close, [0x0F, 0xA0], mask: m))) == [.close(code: 4000, reason: "")])
    }

    @Test func theHandshakeAcceptsAsTheRFCsExampleDoes() {
        #expect(WebSocketHandshake.accept(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(WebSocketFrame.close(code: 1001, reason: String(repeating: "é", count: 100)).count <= 127, "a close frame fits 125 bytes")
    }
}

extension Array where Element == UInt8 {
    fileprivate func with(first byte: UInt8) -> [UInt8] {
        var copy = self
        copy[0] = byte
        return copy
    }
}
