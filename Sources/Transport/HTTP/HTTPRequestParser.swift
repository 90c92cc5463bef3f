/// An HTTP/1.1 request parser (RFC 9112): a value fed bytes that yields request heads, body
/// chunks and ends, and never touches a socket.
///
/// Feed what arrives with ``append(_:)``, then call ``next()`` until it returns nil (it needs
/// more bytes). Pipelined requests come out one after another. Any refusal is final: the
/// caller answers with the error's status and closes the connection, as RFC 9112 §11.2 asks
/// of a message whose framing cannot be trusted.
public struct HTTPRequestParser: Sendable {
    /// Size limits, from API.md's protocol limits.
    public struct Limits: Sendable {
        /// Request line and header fields together (431 past it).
        public var maxHeadBytes = 16 * 1024
        /// The request-target (414 past it).
        public var maxTargetBytes = 8 * 1024
        /// The body, whichever its framing (413 past it).
        public var maxBodyBytes = 1024 * 1024
        /// Header field lines (431 past it).
        public var maxHeaderFields = 128

        public init() {}
    }

    /// What ``next()`` yields.
    public enum Event: Sendable, Equatable {
        case head(HTTPRequestHead)
        case body([UInt8])
        /// The request is complete (its body, if any, was all yielded).
        case end
    }

    enum State {
        case head
        case fixedBody(remaining: Int)
        case chunked(ChunkedDecoder)
        case end
        case failed(HTTPParseError)
    }

    public let limits: Limits
    var buffer: [UInt8] = []
    var readIndex = 0
    /// Where the scan for the end of the head resumes, so bytes are looked at once.
    var scanIndex = 0
    var state = State.head

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Adds bytes received from the peer.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 0, readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet consumed.
    public var bufferedCount: Int { buffer.count - readIndex }

    /// Hands over the bytes received past the last request and forgets them: what a client
    /// sent after an upgrade request belongs to the new protocol.
    mutating func takeBuffered() -> [UInt8] {
        defer {
            buffer = []
            readIndex = 0
        }
        return Array(buffer[readIndex...])
    }

    /// The next event, nil when more bytes are needed, or the refusal.
    public mutating func next() throws(HTTPParseError) -> Event? {
        switch state {
        case .failed(let error):
            throw error
        case .head:
            return try guarded { parser throws(HTTPParseError) in try parser.parseHead() }
        case .fixedBody(let remaining):
            guard bufferedCount > 0 else { return nil }
            let take = min(remaining, bufferedCount)
            let chunk = Array(buffer[readIndex..<(readIndex + take)])
            readIndex += take
            state = remaining == take ? .end : .fixedBody(remaining: remaining - take)
            return .body(chunk)
        case .end:
            state = .head
            scanIndex = readIndex
            return .end
        case .chunked(var decoder):
            return try guarded { parser throws(HTTPParseError) in
                switch try decoder.next(parser.buffer, &parser.readIndex) {
                case nil:
                    parser.state = .chunked(decoder)
                    return nil
                case .data(let bytes)?:
                    parser.state = .chunked(decoder)
                    return .body(bytes)
                case .end?:
                    parser.state = .end
                    return try parser.next()
                }
            }
        }
    }

    /// Runs a step; a refusal is remembered so that it is final.
    private mutating func guarded(
        _ step: (inout HTTPRequestParser) throws(HTTPParseError) -> Event?
    ) throws(HTTPParseError) -> Event? {
        do {
            return try step(&self)
        } catch {
            state = .failed(error)
            throw error
        }
    }

    // MARK: The head (RFC 9112 §2–§5)

    private mutating func parseHead() throws(HTTPParseError) -> Event? {
        // §2.2: a server SHOULD ignore at least one empty line received before the request-line.
        while bufferedCount >= 2, buffer[readIndex] == 0x0D, buffer[readIndex + 1] == 0x0A {
            readIndex += 2
        }
        scanIndex = max(scanIndex, readIndex)
        guard let headEnd = try findHeadEnd() else {
            if bufferedCount > limits.maxHeadBytes { throw .headersTooLarge(limit: limits.maxHeadBytes) }
            if !buffer[readIndex...].contains(0x0A), bufferedCount > limits.maxTargetBytes + 32 {
                throw .uriTooLong(limit: limits.maxTargetBytes)
            }
            return nil
        }
        guard headEnd - readIndex <= limits.maxHeadBytes else { throw .headersTooLarge(limit: limits.maxHeadBytes) }
        let head = try HTTPHeadReader(bytes: buffer[readIndex..<headEnd], limits: limits).read()
        readIndex = headEnd
        scanIndex = headEnd
        state = try bodyState(for: head)
        return .head(head)
    }

    /// The index just past the CRLF CRLF that ends the head, refusing a bare CR or LF (§2.2).
    private mutating func findHeadEnd() throws(HTTPParseError) -> Int? {
        var index = scanIndex
        while index < buffer.count {
            let byte = buffer[index]
            if byte == 0x0A {
                guard index > readIndex, buffer[index - 1] == 0x0D else {
                    throw .badRequest("A bare LF ends a line in the request head; lines end with CRLF.")
                }
                if index - readIndex >= 3, buffer[index - 2] == 0x0A, buffer[index - 3] == 0x0D {
                    return index + 1
                }
            } else if byte == 0x0D {
                guard index + 1 < buffer.count else { break }
                guard buffer[index + 1] == 0x0A else {
                    throw .badRequest("A bare CR appears in the request head.")
                }
            }
            index += 1
        }
        scanIndex = index
        return nil
    }

    /// How the body is framed (§6.3): chunked, a length, or none.
    private func bodyState(for head: HTTPRequestHead) throws(HTTPParseError) -> State {
        let transferEncodings = head.headers.values(for: "Transfer-Encoding")
        let contentLengths = head.headers.values(for: "Content-Length")
        if !transferEncodings.isEmpty {
            // §6.1: both is a smuggling vector; §6.3: refuse, answer 400, and close.
            guard contentLengths.isEmpty else {
                throw .badRequest("A request must not carry both Content-Length and Transfer-Encoding.")
            }
            guard head.minorVersion == 1 else {
                throw .badRequest("Transfer-Encoding is not defined for HTTP/1.0 requests.")
            }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingHTTPWhitespace().lowercased() }
            guard codings.last == "chunked" else {
                throw .badRequest("The final transfer coding must be chunked.")
            }
            guard codings.count == 1 else {
                throw HTTPParseError(
                    status: 501, code: "not_implemented",
                    message: "Only the chunked transfer coding is supported.")
            }
            return .chunked(ChunkedDecoder(maxBodyBytes: limits.maxBodyBytes, maxTrailerBytes: limits.maxHeadBytes))
        }
        guard !contentLengths.isEmpty else { return .end }
        // §6.3 allows taking a list of identical values as one; API.md does not: any second
        // value, equal or not, is refused, since an intermediary may frame it otherwise.
        let values = contentLengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard values.count == 1 else { throw .badRequest("A request must carry one Content-Length.") }
        let text = values[0].trimmingHTTPWhitespace()
        guard !text.isEmpty, text.utf8.allSatisfy(isDigit) else {
            throw .badRequest("Content-Length must be one non-negative decimal number.")
        }
        guard text.utf8.count <= 18, let length = Int(text), length <= limits.maxBodyBytes else {
            throw .payloadTooLarge(limit: limits.maxBodyBytes)
        }
        return length == 0 ? .end : .fixedBody(remaining: length)
    }
}

func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

extension StringProtocol {
    /// Without leading and trailing SP and HTAB (RFC 9110 §5.6.3 OWS).
    func trimmingHTTPWhitespace() -> String {
        let utf8 = Array(self.utf8)
        var start = 0, end = utf8.count
        while start < end, utf8[start] == 0x20 || utf8[start] == 0x09 { start += 1 }
        while end > start, utf8[end - 1] == 0x20 || utf8[end - 1] == 0x09 { end -= 1 }
        return String(decoding: utf8[start..<end], as: UTF8.self)
    }
}
