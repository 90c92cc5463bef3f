import Synchronization
import TroupeCore

/// Writes response heads (RFC 9112 §4, §6) into a byte buffer, once per response.
enum ResponseSerializer {
    /// How the body is framed on the wire.
    enum Framing {
        case length(Int)
        case chunked
        /// No body follows: the connection changes protocol (101, with `Connection: Upgrade`).
        case none
    }

    static let continue100: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Appends the status line, `Date`, framing, `Connection: close` when `close`, the
    /// responder's headers (minus any framing headers it set, which the server owns), and CRLF.
    static func appendHead(
        status: Int, headers: HTTPHeaders, framing: Framing, close: Bool, into buffer: inout [UInt8]
    ) {
        buffer.append(contentsOf: statusLine(status))
        buffer.append(contentsOf: DateCache.shared.headerLine())
        switch framing {
        case .length(let count):
            buffer.append(contentsOf: contentLengthPrefix)
            appendDecimal(count, into: &buffer)
            buffer.append(contentsOf: crlf)
        case .chunked:
            buffer.append(contentsOf: chunkedHeader)
        case .none:
            break
        }
        if close { buffer.append(contentsOf: connectionClose) }
        if case .none = framing { buffer.append(contentsOf: connectionUpgrade) }
        for field in headers where !isFramingHeader(field.name) {
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(contentsOf: colonSpace)
            buffer.append(contentsOf: field.value.utf8)
            buffer.append(contentsOf: crlf)
        }
        buffer.append(contentsOf: crlf)
    }

    static func appendDecimal(_ value: Int, into buffer: inout [UInt8]) {
        var writer = JSONWriter(capacity: 0)
        writer.writeInt(Int64(value))
        buffer.append(contentsOf: writer.bytes)
    }

    private static func isFramingHeader(_ name: String) -> Bool {
        name.equalsIgnoringASCIICase("Content-Length") || name.equalsIgnoringASCIICase("Transfer-Encoding")
            || name.equalsIgnoringASCIICase("Connection") || name.equalsIgnoringASCIICase("Date")
    }

    private static let connectionUpgrade: [UInt8] = Array("Connection: Upgrade\r\n".utf8)
    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let colonSpace: [UInt8] = [0x3A, 0x20]
    private static let contentLengthPrefix = Array("Content-Length: ".utf8)
    private static let chunkedHeader = Array("Transfer-Encoding: chunked\r\n".utf8)
    private static let connectionClose = Array("Connection: close\r\n".utf8)

    private static let statusLines: [Int: [UInt8]] = Dictionary(
        uniqueKeysWithValues: reasonPhrases.map { ($0.key, Array("HTTP/1.1 \($0.key) \($0.value)\r\n".utf8)) })

    static func statusLine(_ status: Int) -> [UInt8] {
        statusLines[status] ?? Array("HTTP/1.1 \(status) \(reasonPhrases[status] ?? "Status")\r\n".utf8)
    }

    /// RFC 9110 §15 reason phrases for the statuses Troupe answers with.
    static let reasonPhrases: [Int: String] = [
        100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted",
        204: "No Content", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
        413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 417: "Expectation Failed",
        422: "Unprocessable Content", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
        500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
        505: "HTTP Version Not Supported",
    ]
}

/// The `Date` header line (RFC 9110 §6.6.1, IMF-fixdate), formatted at most once per second.
final class DateCache: Sendable {
    static let shared = DateCache()

    private struct Cached {
        var second: Int64 = .min
        var line: [UInt8] = []
    }

    private let cached = Mutex(Cached())

    /// `Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n` for the current second.
    func headerLine() -> [UInt8] {
        let second = SystemClock().now.millisecondsSinceEpoch / 1000
        return cached.withLock { cached in
            if cached.second != second {
                cached.second = second
                cached.line = Array("Date: \(Self.imfFixdate(secondsSinceEpoch: second))\r\n".utf8)
            }
            return cached.line
        }
    }

    static func imfFixdate(secondsSinceEpoch: Int64) -> String {
        let days = secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : (secondsSinceEpoch - 86_399) / 86_400
        let secondOfDay = secondsSinceEpoch - days * 86_400
        let (year, monthNumber, day) = Timestamp.civilDate(daysSinceEpoch: days)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        let month = months[Int(monthNumber) - 1]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(weekday), \(two(day)) \(month) \(yearText) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
