/// The chunked transfer coding (RFC 9112 §7.1):
///
///     chunked-body = *chunk last-chunk trailer-section CRLF
///     chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
///     last-chunk   = 1*("0") [ chunk-ext ] CRLF
///
/// Extensions are skipped; trailer fields are read, bounded, and ignored (§7.1.2 lets a
/// recipient discard them).
extension HTTPRequestParser {
    /// A chunk-size line may carry extensions; longer than this it is refused.
    static let maxChunkLineBytes = 4096

    mutating func parseChunked() throws(HTTPParseError) -> Event? {
        while true {
            switch state {
            case .chunkSize:
                guard let line = try takeLine(maxBytes: Self.maxChunkLineBytes) else { return nil }
                let size = try chunkSize(line)
                if size == 0 {
                    state = .trailers(bytes: 0)
                } else {
                    guard bodyBytes + size <= limits.maxBodyBytes else { throw .payloadTooLarge(limit: limits.maxBodyBytes) }
                    bodyBytes += size
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                guard bufferedCount > 0 else { return nil }
                let take = min(remaining, bufferedCount)
                let chunk = Array(buffer[readIndex..<(readIndex + take)])
                readIndex += take
                state = remaining == take ? .chunkDataEnd : .chunkData(remaining: remaining - take)
                return .body(chunk)
            case .chunkDataEnd:
                guard bufferedCount >= 2 else { return nil }
                guard buffer[readIndex] == 0x0D, buffer[readIndex + 1] == 0x0A else {
                    throw .badRequest("Chunk data is not followed by CRLF.")
                }
                readIndex += 2
                state = .chunkSize
            case .trailers(let bytes):
                guard let line = try takeLine(maxBytes: limits.maxHeadBytes - bytes) else {
                    if bytes + bufferedCount > limits.maxHeadBytes { throw .headersTooLarge(limit: limits.maxHeadBytes) }
                    return nil
                }
                if line.isEmpty {
                    state = .end
                    return try next()
                }
                guard line.contains(0x3A), let first = line.first, first != 0x20, first != 0x09 else {
                    throw .badRequest("A trailer line is malformed.")
                }
                state = .trailers(bytes: bytes + line.count + 2)
            default:
                return try next()
            }
        }
    }

    /// The next CRLF-terminated line without its CRLF, or nil if it is not all here yet.
    private mutating func takeLine(maxBytes: Int) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        var index = readIndex
        while index < buffer.count {
            let byte = buffer[index]
            if byte == 0x0A {
                guard index > readIndex, buffer[index - 1] == 0x0D else { throw .badRequest("A bare LF ends a chunk line.") }
                let line = buffer[readIndex..<(index - 1)]
                guard !line.contains(0x0D) else { throw .badRequest("A bare CR appears in a chunk line.") }
                readIndex = index + 1
                return line
            }
            guard index - readIndex < maxBytes else { throw .badRequest("A chunk-size or trailer line is too long.") }
            index += 1
        }
        return nil
    }

    /// `chunk-size = 1*HEXDIG`, then optional `;`-introduced extensions.
    private func chunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = hexValue(line[index]) {
            guard digits < 15 else { throw .payloadTooLarge(limit: limits.maxBodyBytes) }
            size = size << 4 | digit
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw .badRequest("A chunk size is not a hexadecimal number.") }
        let rest = line[index...].drop { $0 == 0x20 || $0 == 0x09 }
        guard rest.isEmpty || rest.first == 0x3B else { throw .badRequest("A chunk size is followed by junk.") }
        guard rest.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
            throw .badRequest("A chunk extension contains a control character.")
        }
        return size
    }

    private func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - 0x61 + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - 0x41 + 10)
        default: return nil
        }
    }
}
