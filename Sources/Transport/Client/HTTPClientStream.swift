import Glibc
import TroupeSystem

/// A response read as it arrives, for an event stream: its status and headers once the head
/// is in, then its body piece by piece (de-chunked) as the server sends it. It has a
/// connection of its own, never pooled, closed by ``close()`` or at the body's end.
///
/// One task owns it and awaits each call before the next; it is not shared.
public final class HTTPClientStream {
    public let status: Int
    public let headers: HTTPHeaders
    private let fd: Int32
    private let loop: EventLoop
    /// Bytes read and not yet handed out.
    private var buffer: [UInt8]
    private var index: Int
    /// Chunked bodies are decoded; otherwise the body runs to `Content-Length` or the close.
    private var decoder: ChunkedDecoder?
    private var remaining: Int?
    private var ended = false
    private var closed = false

    /// A head is refused past this (a stream's head is small).
    static let maxHeadBytes = 64 * 1024

    private init(status: Int, headers: HTTPHeaders, fd: Int32, loop: EventLoop, buffer: [UInt8], index: Int) {
        self.status = status
        self.headers = headers
        self.fd = fd
        self.loop = loop
        self.buffer = buffer
        self.index = index
        if headers.values(for: "Transfer-Encoding").contains(where: { $0.lowercased().contains("chunked") }) {
            decoder = ChunkedDecoder(maxBodyBytes: 1 << 50, maxTrailerBytes: 64 * 1024)
        } else if let length = headers["Content-Length"].flatMap({ Int($0) }) {
            remaining = length
        }
    }

    deinit {
        if !closed {
            loop.deregister(fd)
            Glibc.close(fd)
        }
    }

    /// Connects, sends `request`, and reads the response's head (within `timeout`).
    public static func open(_ request: HTTPClientRequest, loop: EventLoop = .shared, timeout: Duration = .seconds(30)) async throws -> sending HTTPClientStream {
        let deadline = ContinuousClock.now + timeout
        let fd = try await HTTPClient.connect(request.host, request.port, loop: loop, deadline: deadline)
        do {
            var bytes = HTTPClient.serialize(request)
            try await SocketWriter(fd: fd, loop: loop, writeTimeout: deadline - .now).writeAll(&bytes)
            var buffer: [UInt8] = []
            while true {
                if let end = headEnd(buffer) {
                    let (status, headers) = try parseHead(buffer[..<end])
                    return HTTPClientStream(status: status, headers: headers, fd: fd, loop: loop, buffer: buffer, index: end + 4)
                }
                guard buffer.count <= maxHeadBytes else { throw HTTPParseError.headersTooLarge(limit: maxHeadBytes) }
                guard try await read(fd, loop: loop, into: &buffer, deadline: deadline) else {
                    throw SystemCallError(call: "read", errno: ECONNRESET)
                }
            }
        } catch {
            loop.deregister(fd)
            Glibc.close(fd)
            throw error
        }
    }

    /// The next piece of the body, waiting for it until `deadline`; nil at the body's end.
    public func next(deadline: ContinuousClock.Instant? = nil) async throws -> [UInt8]? {
        while !ended {
            if let piece = try take() { return piece }
            if ended { break }
            guard try await Self.read(fd, loop: loop, into: &buffer, deadline: deadline) else {
                ended = true
                return nil
            }
        }
        return nil
    }

    /// Hangs up.
    public func close() {
        guard !closed else { return }
        closed = true
        ended = true
        loop.deregister(fd)
        Glibc.close(fd)
    }

    /// What the buffer holds of the body now; nil when more bytes are needed.
    private func take() throws -> [UInt8]? {
        defer {
            if index > 64 * 1024 {
                buffer.removeFirst(index)
                index = 0
            }
        }
        if var decoder {
            defer { self.decoder = decoder }
            switch try decoder.next(buffer, &index) {
            case .data(let piece)?: return piece
            case .end?:
                ended = true
                return nil
            case nil: return nil
            }
        }
        guard index < buffer.count else {
            if remaining == 0 { ended = true }
            return nil
        }
        var take = buffer.count - index
        if let left = remaining {
            take = min(take, left)
            remaining = left - take
        }
        let piece = Array(buffer[index..<(index + take)])
        index += take
        if remaining == 0 { ended = true }
        return piece
    }

    /// Reads what the socket has, waiting for it; false at the end of the stream.
    private static func read(_ fd: Int32, loop: EventLoop, into buffer: inout [UInt8], deadline: ContinuousClock.Instant?) async throws -> Bool {
        while true {
            let count = try withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { scratch throws(SystemCallError) -> Int? in
                switch try Socket.read(fd, into: scratch) {
                case .wouldBlock: return nil
                case .value(let count):
                    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                    return count
                }
            }
            if let count { return count > 0 }
            try await loop.wait(fd, for: .read, deadline: deadline)
        }
    }

    private static func headEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for start in 0...(buffer.count - 4) where buffer[start] == 0x0D && buffer[start + 1] == 0x0A && buffer[start + 2] == 0x0D && buffer[start + 3] == 0x0A {
            return start
        }
        return nil
    }

    /// `HTTP/1.1 200 OK` and `Name: value` lines.
    private static func parseHead(_ head: ArraySlice<UInt8>) throws(HTTPParseError) -> (Int, HTTPHeaders) {
        let lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        let statusLine = lines.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]), (100...599).contains(status) else {
            throw .badRequest("the response's status line is malformed")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .badRequest("a response header has no colon") }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }))
        }
        return (status, headers)
    }
}
