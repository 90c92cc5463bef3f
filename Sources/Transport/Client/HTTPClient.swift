import Glibc
import Synchronization
import TroupeSystem

/// A request for ``HTTPClient``.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var host: String
    public var port: Int
    /// Path and query, e.g. `/v1/runs?limit=5`.
    public var target: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String = "GET", host: String = "127.0.0.1", port: Int, target: String,
                headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.host = host
        self.port = port
        self.target = target
        self.headers = headers
        self.body = body
    }
}

/// A complete response.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// An HTTP/1.1 client (`http` only) over the ``EventLoop``, with a keep-alive pool per host,
/// for the load generator and tests.
///
/// A connection taken from the pool may have been closed by the server meanwhile (its idle
/// timeout); when it fails before any byte of the response arrives, the request is sent once
/// more on a new connection.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Connecting, sending and receiving one response must finish within this.
        public var timeout: Duration = .seconds(30)
        /// Idle keep-alive connections kept per host.
        public var maxIdlePerHost = 64
        public var maxBodyBytes = 64 * 1024 * 1024

        public init() {}
    }

    public let configuration: Configuration
    private let loop: EventLoop
    private let idle = Mutex<[String: [Int32]]>([:])

    public init(configuration: Configuration = Configuration(), loop: EventLoop = .shared) {
        self.configuration = configuration
        self.loop = loop
    }

    deinit {
        for fd in idle.withLock({ $0.values.flatMap { $0 } }) { discard(fd) }
    }

    /// Sends `request` and returns the whole response.
    public func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let deadline = ContinuousClock.now + configuration.timeout
        let key = "\(request.host):\(request.port)"
        if let pooled = idle.withLock({ $0[key]?.popLast() }) {
            do {
                return try await exchange(on: pooled, request, key: key, deadline: deadline)
            } catch ExchangeFailure.closedBeforeResponse {
                // The server closed the idle connection; try once more on a new one.
            }
        }
        let fd = try await Self.connect(request.host, request.port, loop: loop, deadline: deadline)
        do {
            return try await exchange(on: fd, request, key: key, deadline: deadline)
        } catch ExchangeFailure.closedBeforeResponse {
            throw SystemCallError(call: "read", errno: ECONNRESET)
        }
    }

    /// Closes every idle connection.
    public func closeIdleConnections() {
        for fd in idle.withLock({ table in defer { table.removeAll() }; return table.values.flatMap { $0 } }) {
            discard(fd)
        }
    }

    private enum ExchangeFailure: Error {
        case closedBeforeResponse
    }

    /// A connected, non-blocking socket to `host:port`, registered with `loop` (for the pool's
    /// connections and for ``HTTPClientStream``'s).
    static func connect(_ host: String, _ port: Int, loop: EventLoop, deadline: ContinuousClock.Instant) async throws -> Int32 {
        let (fd, inProgress) = try Socket.connect(host: host, port: port)
        do {
            try loop.register(fd)
        } catch {
            close(fd)
            throw error
        }
        if inProgress {
            do {
                try await loop.wait(fd, for: .write, deadline: deadline)
                let error = Socket.pendingError(fd)
                guard error == 0 else { throw SystemCallError(call: "connect", errno: error) }
            } catch {
                loop.deregister(fd)
                close(fd)
                throw error
            }
        }
        try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        return fd
    }

    private func exchange(
        on fd: Int32, _ request: HTTPClientRequest, key: String, deadline: ContinuousClock.Instant
    ) async throws -> HTTPClientResponse {
        var parser = HTTPResponseParser(maxBodyBytes: configuration.maxBodyBytes)
        parser.answersHead = request.method == "HEAD"
        do {
            var bytes = Self.serialize(request)
            do {
                try await SocketWriter(fd: fd, loop: loop, writeTimeout: deadline - .now).writeAll(&bytes)
            } catch let error as SystemCallError where error.errno == EPIPE || error.errno == ECONNRESET {
                throw ExchangeFailure.closedBeforeResponse
            }
            while true {
                let outcome = try withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { buffer throws(SystemCallError) -> Int? in
                    switch try Socket.read(fd, into: buffer) {
                    case .wouldBlock: return nil
                    case .value(let count):
                        parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                        return count
                    }
                }
                switch outcome {
                case nil:
                    try await loop.wait(fd, for: .read, deadline: deadline)
                case 0?:
                    if let response = parser.endOfStream() {
                        discard(fd)
                        return response
                    }
                    throw parser.hasStarted ? SystemCallError(call: "read", errno: ECONNRESET) : ExchangeFailure.closedBeforeResponse
                default:
                    if let response = try parser.next() {
                        finish(fd, key: key, response: response)
                        return response
                    }
                }
            }
        } catch {
            discard(fd)
            if let transport = error as? SystemCallError, transport.errno == ECONNRESET, !parser.hasStarted {
                throw ExchangeFailure.closedBeforeResponse
            }
            throw error
        }
    }

    /// Returns the connection to the pool, or closes it when the server said close or the
    /// pool is full.
    private func finish(_ fd: Int32, key: String, response: HTTPClientResponse) {
        let keep = !(response.headers["Connection"]?.equalsIgnoringASCIICase("close") ?? false)
            && idle.withLock { table in
                guard table[key, default: []].count < configuration.maxIdlePerHost else { return false }
                table[key, default: []].append(fd)
                return true
            }
        if !keep { discard(fd) }
    }

    private func discard(_ fd: Int32) {
        loop.deregister(fd)
        close(fd)
    }

    static func serialize(_ request: HTTPClientRequest) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + request.body.count)
        bytes.append(contentsOf: "\(request.method) \(request.target) HTTP/1.1\r\n".utf8)
        if !request.headers.contains("Host") { bytes.append(contentsOf: "Host: \(request.host):\(request.port)\r\n".utf8) }
        for field in request.headers where !field.name.equalsIgnoringASCIICase("Content-Length") {
            bytes.append(contentsOf: "\(field.name): \(field.value)\r\n".utf8)
        }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            bytes.append(contentsOf: "Content-Length: \(request.body.count)\r\n".utf8)
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
        bytes.append(contentsOf: request.body)
        return bytes
    }
}
