/// Parses HTTP/1.1 responses for the client: the status line, header fields, and a body framed
/// by Content-Length, the chunked coding, or the end of the connection (RFC 9112 §6.3).
/// Interim 1xx responses are skipped.
struct HTTPResponseParser {
    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunked(ChunkedDecoder)
        case untilClose
    }

    let maxBodyBytes: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var state = State.head
    private var status = 0
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []
    /// Whether the response being read answers a HEAD request (no body, whatever it says).
    var answersHead = false

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// Whether any byte of a response has been received.
    var hasStarted: Bool { buffer.count > 0 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The complete response, or nil when more bytes are needed.
    mutating func next() throws(HTTPParseError) -> HTTPClientResponse? {
        while true {
            switch state {
            case .head:
                guard let headEnd = findHeadEnd() else {
                    if buffer.count - readIndex > 64 * 1024 { throw .headersTooLarge(limit: 64 * 1024) }
                    return nil
                }
                try readHead(buffer[readIndex..<(headEnd - 2)])
                readIndex = headEnd
                if (100..<200).contains(status) { continue }
                state = try bodyState()
            case .fixedBody(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                guard take == remaining else {
                    state = .fixedBody(remaining: remaining - take)
                    return nil
                }
                return complete()
            case .chunked(var decoder):
                switch try decoder.next(buffer, &readIndex) {
                case nil:
                    state = .chunked(decoder)
                    return nil
                case .data(let bytes)?:
                    body.append(contentsOf: bytes)
                    guard body.count <= maxBodyBytes else { throw .payloadTooLarge(limit: maxBodyBytes) }
                    state = .chunked(decoder)
                case .end?:
                    return complete()
                }
            case .untilClose:
                body.append(contentsOf: buffer[readIndex...])
                readIndex = buffer.count
                guard body.count <= maxBodyBytes else { throw .payloadTooLarge(limit: maxBodyBytes) }
                return nil
            }
        }
    }

    /// The connection ended: the response, if its body runs to the end of the connection.
    mutating func endOfStream() -> HTTPClientResponse? {
        guard case .untilClose = state else { return nil }
        return complete()
    }

    private func findHeadEnd() -> Int? {
        var index = readIndex + 3
        while index < buffer.count {
            if buffer[index] == 0x0A, buffer[index - 1] == 0x0D, buffer[index - 2] == 0x0A, buffer[index - 3] == 0x0D {
                return index + 1
            }
            index += 1
        }
        return nil
    }

    /// `HTTP/1.1 200 OK` then field lines.
    private mutating func readHead(_ head: ArraySlice<UInt8>) throws(HTTPParseError) {
        // `head` ends with the CRLF of its last line: split on LF, drop the empty tail and each CR.
        let lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { $0.dropLast() }
        guard let statusLine = lines.first, statusLine.count >= 12, statusLine.starts(with: "HTTP/1.".utf8),
            let code = Int(String(decoding: statusLine.dropFirst(9).prefix(3), as: UTF8.self))
        else { throw .badRequest("The response's status line is malformed.") }
        status = code
        headers = HTTPHeaders()
        for line in lines.dropFirst() {
            let (name, value) = try HTTPHeadReader.parseFieldLine(line)
            headers.add(name, value)
        }
    }

    private func bodyState() throws(HTTPParseError) -> State {
        if answersHead || status == 204 || status == 304 { return .fixedBody(remaining: 0) }
        if headers["Transfer-Encoding"]?.lowercased().hasSuffix("chunked") == true {
            return .chunked(ChunkedDecoder(maxBodyBytes: maxBodyBytes, maxTrailerBytes: 64 * 1024))
        }
        if let text = headers["Content-Length"] {
            guard let length = Int(text), length >= 0 else { throw .badRequest("The response's Content-Length is malformed.") }
            guard length <= maxBodyBytes else { throw .payloadTooLarge(limit: maxBodyBytes) }
            return .fixedBody(remaining: length)
        }
        return .untilClose
    }

    private mutating func complete() -> HTTPClientResponse {
        let response = HTTPClientResponse(status: status, headers: headers, body: body)
        buffer.removeFirst(readIndex)
        readIndex = 0
        state = .head
        body = []
        return response
    }
}
