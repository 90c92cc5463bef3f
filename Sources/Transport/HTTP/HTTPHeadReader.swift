/// Reads one complete request head (everything up to and including the empty line) into an
/// ``HTTPRequestHead``, enforcing RFC 9112's syntax. Line endings were already checked to be
/// CRLF by the parser.
struct HTTPHeadReader {
    let bytes: ArraySlice<UInt8>
    let limits: HTTPRequestParser.Limits

    func read() throws(HTTPParseError) -> HTTPRequestHead {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 0x0A {
                lines.append(bytes[lineStart..<(index - 1)])  // without the CR
                lineStart = index + 1
            }
            index += 1
        }
        guard let requestLine = lines.first else { throw .badRequest("The request line is missing.") }
        var head = try parseRequestLine(requestLine)
        let fieldLines = lines.dropFirst().dropLast()  // the last line is the empty one ending the head
        guard fieldLines.count <= limits.maxHeaderFields else {
            throw .headersTooLarge(limit: limits.maxHeadBytes)
        }
        var headers = HTTPHeaders()
        for line in fieldLines {
            let (name, value) = try Self.parseFieldLine(line)
            headers.add(name, value)
        }
        head.headers = headers
        try applySemantics(&head)
        return head
    }

    // MARK: request-line = method SP request-target SP HTTP-version (§3)

    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPRequestHead {
        guard let firstSpace = line.firstIndex(of: 0x20) else { throw .badRequest("The request line is malformed.") }
        let method = line[line.startIndex..<firstSpace]
        guard !method.isEmpty, method.allSatisfy(isTokenCharacter) else {
            throw .badRequest("The request method is not a valid token.")
        }
        let rest = line[(firstSpace + 1)...]
        guard let secondSpace = rest.firstIndex(of: 0x20) else { throw .badRequest("The request line is malformed.") }
        let target = rest[rest.startIndex..<secondSpace]
        guard target.count <= limits.maxTargetBytes else { throw .uriTooLong(limit: limits.maxTargetBytes) }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("The request target is empty or contains whitespace, control or non-ASCII bytes.")
        }
        let version = rest[(secondSpace + 1)...]
        let minor = try parseVersion(version)
        return HTTPRequestHead(
            method: String(decoding: method, as: UTF8.self),
            target: try originForm(target),
            minorVersion: minor)
    }

    /// `HTTP/1.0` or `HTTP/1.1`; another well-formed version is 505, anything else 400.
    private func parseVersion(_ version: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        let text = Array(version)
        guard text.count == 8, text[0..<5].elementsEqual("HTTP/".utf8), isDigit(text[5]), text[6] == 0x2E, isDigit(text[7])
        else { throw .badRequest("The HTTP version is malformed.") }
        guard text[5] == 0x31, text[7] == 0x30 || text[7] == 0x31 else {
            throw HTTPParseError(status: 505, code: "http_version_not_supported", message: "Only HTTP/1.0 and HTTP/1.1 are served.")
        }
        return Int(text[7] - 0x30)
    }

    /// Origin form (`/path?query`) or `*` as is; absolute form reduced to its path and query (§3.2.2).
    private func originForm(_ target: ArraySlice<UInt8>) throws(HTTPParseError) -> String {
        let text = String(decoding: target, as: UTF8.self)
        if text.hasPrefix("/") || text == "*" { return text }
        for scheme in ["http://", "https://"] where text.lowercased().hasPrefix(scheme) {
            let afterAuthority = text.dropFirst(scheme.count).drop { $0 != "/" && $0 != "?" }
            return afterAuthority.hasPrefix("/") ? String(afterAuthority) : "/" + afterAuthority
        }
        throw .badRequest("The request target must be a path beginning with /.")
    }

    // MARK: field-line = field-name ":" OWS field-value OWS (§5)

    /// One header field line, shared with the response parser.
    static func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String) {
        guard let first = line.first else { throw .badRequest("An empty header line appears inside the head.") }
        // §5.2: obs-fold (a line starting with whitespace) is refused in requests.
        guard first != 0x20, first != 0x09 else {
            throw .badRequest("Header line folding (obs-fold) is not accepted.")
        }
        guard let colon = line.firstIndex(of: 0x3A) else { throw .badRequest("A header line has no colon.") }
        let name = line[line.startIndex..<colon]
        // §5.1: no whitespace between the field name and the colon.
        guard let last = name.last, last != 0x20, last != 0x09 else {
            throw .badRequest("Whitespace between a header name and its colon is not accepted.")
        }
        guard name.allSatisfy(isTokenCharacter) else {
            throw .badRequest("A header name contains a character that is not a token character.")
        }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == 0x20 || byte == 0x09 { value = value.dropFirst() }
        while let byte = value.last, byte == 0x20 || byte == 0x09 { value = value.dropLast() }
        // §5.5: field values are VCHAR, obs-text, SP and HTAB; NUL and other controls are refused.
        guard value.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else {
            throw .badRequest("A header value contains a control character.")
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    // MARK: Host, Connection, Expect

    private func applySemantics(_ head: inout HTTPRequestHead) throws(HTTPParseError) {
        // §3.2: an HTTP/1.1 request without Host, or with more than one, is answered 400.
        let hosts = head.headers.values(for: "Host")
        guard hosts.count <= 1, head.minorVersion == 0 || hosts.count == 1 else {
            throw .badRequest("An HTTP/1.1 request must carry exactly one Host header.")
        }
        let connectionTokens = head.headers.values(for: "Connection")
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingHTTPWhitespace().lowercased() }
        if connectionTokens.contains("close") {
            head.keepAlive = false
        } else {
            head.keepAlive = head.minorVersion == 1 || connectionTokens.contains("keep-alive")
        }
        if let expect = head.headers["Expect"] {
            guard expect.equalsIgnoringASCIICase("100-continue") else {
                throw HTTPParseError(status: 417, code: "expectation_failed", message: "Only Expect: 100-continue is supported.")
            }
            head.expectsContinue = head.minorVersion == 1
        }
    }
}

/// RFC 9110 §5.6.2 `tchar`.
func isTokenCharacter(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
        UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
        UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}
