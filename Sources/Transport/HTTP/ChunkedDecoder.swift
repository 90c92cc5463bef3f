/// Decodes the chunked transfer coding (RFC 9112 §7.1) from a byte buffer, for requests and
/// responses alike:
///
///     chunked-body = *chunk last-chunk trailer-section CRLF
///     chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
///     last-chunk   = 1*("0") [ chunk-ext ] CRLF
///
/// Extensions are skipped; trailer fields are read, bounded, and ignored (§7.1.2 lets a
/// recipient discard them).
struct ChunkedDecoder: Sendable {
    /// A chunk-size line may carry extensions; longer than this it is refused.
    static let maxChunkLineBytes = 4096

    enum Output: Equatable {
        case data([UInt8])
        case end
    }

    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers(bytes: Int)
    }

    let maxBodyBytes: Int
    let maxTrailerBytes: Int
    private var state = State.size
    private var total = 0

    init(maxBodyBytes: Int, maxTrailerBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// The next data or the end, consuming from `buffer` at `index`; nil when more bytes are needed.
    mutating func next(_ buffer: [UInt8], _ index: inout Int) throws(HTTPParseError) -> Output? {
        while true {
            switch state {
            case .size:
                guard let line = try Self.takeLine(buffer, &index, maxBytes: Self.maxChunkLineBytes) else { return nil }
                let size = try chunkSize(line)
                if size == 0 {
                    state = .trailers(bytes: 0)
                } else {
                    guard total + size <= maxBodyBytes else { throw .payloadTooLarge(limit: maxBodyBytes) }
                    total += size
                    state = .data(remaining: size)
                }
            case .data(let remaining):
                let available = buffer.count - index
                guard available > 0 else { return nil }
                let take = min(remaining, available)
                let chunk = Array(buffer[index..<(index + take)])
                index += take
                state = remaining == take ? .dataEnd : .data(remaining: remaining - take)
                return .data(chunk)
            case .dataEnd:
                guard buffer.count - index >= 2 else { return nil }
                guard buffer[index] == 0x0D, buffer[index + 1] == 0x0A else {
                    throw .badRequest("Chunk data is not followed by CRLF.")
                }
                index += 2
                state = .size
            case .trailers(let bytes):
                guard let line = try Self.takeLine(buffer, &index, maxBytes: maxTrailerBytes - bytes) else {
                    if bytes + buffer.count - index > maxTrailerBytes { throw .headersTooLarge(limit: maxTrailerBytes) }
                    return nil
                }
                if line.isEmpty { return .end }
                guard line.contains(0x3A), let first = line.first, first != 0x20, first != 0x09 else {
                    throw .badRequest("A trailer line is malformed.")
                }
                state = .trailers(bytes: bytes + line.count + 2)
            }
        }
    }

    /// The next CRLF-terminated line without its CRLF, or nil if it is not all here yet.
    private static func takeLine(_ buffer: [UInt8], _ index: inout Int, maxBytes: Int) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        var cursor = index
        while cursor < buffer.count {
            if buffer[cursor] == 0x0A {
                guard cursor > index, buffer[cursor - 1] == 0x0D else { throw .badRequest("A bare LF ends a chunk line.") }
                let line = buffer[index..<(cursor - 1)]
                guard !line.contains(0x0D) else { throw .badRequest("A bare CR appears in a chunk line.") }
                index = cursor + 1
                return line
            }
            guard cursor - index < maxBytes else { throw .badRequest("A chunk-size or trailer line is too long.") }
            cursor += 1
        }
        return nil
    }

    /// `chunk-size = 1*HEXDIG`, then optional `;`-introduced extensions.
    private func chunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var cursor = line.startIndex
        while cursor < line.endIndex, let digit = Self.hexValue(line[cursor]) {
            guard digits < 15 else { throw .payloadTooLarge(limit: maxBodyBytes) }
            size = size << 4 | digit
            digits += 1
            cursor += 1
        }
        guard digits > 0 else { throw .badRequest("A chunk size is not a hexadecimal number.") }
        let rest = line[cursor...].drop { $0 == 0x20 || $0 == 0x09 }
        guard rest.isEmpty || rest.first == 0x3B else { throw .badRequest("A chunk size is followed by junk.") }
        guard rest.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
            throw .badRequest("A chunk extension contains a control character.")
        }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - 0x61 + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - 0x41 + 10)
        default: nil
        }
    }
}
