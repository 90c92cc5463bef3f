import Foundation
import Glibc
import TroupeCore

/// One `GET /v1/events/stream` (or, with `webSocket`, `GET /v1/events/ws`) held open by the
/// events benchmark: a plain blocking socket, opened once the server says the stream is
/// subscribed (its `: stream open` comment; a WebSocket's 101, after which the benchmark waits
/// for `/metrics` to count the subscriber). Events are found in either by their `created_at`:
/// a server's WebSocket frames are not masked.
final class BenchStream: @unchecked Sendable {
    // @unchecked: a stream is used by one thread at a time (opened on the caller's, then read
    // only by ``collectDelays(_:eventsEach:timeout:)``'s thread until it returns).
    let fd: Int32
    private var pending: [UInt8] = []
    private(set) var received = 0

    init(port: Int, token: String, webSocket: Bool = false) throws {
        guard let fd = Self.connectLoopback(port: port) else { throw BenchTarget.Failure(description: "connect: errno \(errno)") }
        self.fd = fd
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = webSocket
            ? "GET /v1/events/ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer \(token)\r\n\r\n"
            : "GET /v1/events/stream HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer \(token)\r\n\r\n"
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var head: [UInt8] = []
        let marker = Array((webSocket ? "\r\n\r\n" : ": stream open\n\n").utf8)
        while !head.suffix(marker.count).elementsEqual(marker) {
            var byte: UInt8 = 0
            guard recv(fd, &byte, 1, 0) == 1 else {
                Glibc.close(fd)
                throw BenchTarget.Failure(description: "the stream did not open: \(String(decoding: head, as: UTF8.self))")
            }
            head.append(byte)
        }
        guard head.starts(with: Array((webSocket ? "HTTP/1.1 101" : "HTTP/1.1 200").utf8)) else {
            throw BenchTarget.Failure(description: "stream answered \(String(decoding: head.prefix(40), as: UTF8.self))")
        }
    }

    func close() { Glibc.close(fd) }

    /// A blocking TCP connection to 127.0.0.1:`port`, or nil (errno says why).
    static func connectLoopback(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        return fd
    }

    /// Reads every stream until each has `eventsEach` events (or `timeout`); returns each
    /// event's delay on each stream in milliseconds, from its `created_at` to its arrival.
    static func collectDelays(_ streams: [BenchStream], eventsEach: Int, timeout: Duration) -> [Double] {
        var delays: [Double] = []
        delays.reserveCapacity(streams.count * eventsEach)
        var polls = streams.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while streams.contains(where: { $0.received < eventsEach }), ContinuousClock.now < deadline {
            guard poll(&polls, nfds_t(polls.count), 100) > 0 else { continue }
            let now = SystemClock().now
            for index in polls.indices where polls[index].revents != 0 {
                polls[index].revents = 0
                let count = chunk.withUnsafeMutableBytes { recv(polls[index].fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                guard count > 0 else { continue }
                streams[index].pending += chunk[0..<count]
                delays += streams[index].takeDelays(now: now)
            }
        }
        return delays
    }

    private static let createdAt = Array(#""created_at":""#.utf8)

    /// Where `needle` starts in `bytes` at or after `start`: a byte scan, then `memcmp`.
    private static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, bytes.count >= needle.count else { return nil }
        let first = needle[0]
        return needle.withUnsafeBytes { pattern -> Int? in
            var index = start
            while index <= bytes.count - needle.count {
                if bytes[index] == first, let pattern = pattern.baseAddress, memcmp(base + index, pattern, needle.count) == 0 { return index }
                index += 1
            }
            return nil
        }
    }

    /// The delays of the events whole in ``pending`` (keeping a partial one), found with a
    /// plain byte scan: the client must read a thousand streams faster than the server writes
    /// them, or it measures itself.
    private func takeDelays(now: Timestamp) -> [Double] {
        var delays: [Double] = []
        let consumed = pending.withUnsafeBytes { bytes -> Int in
            guard bytes.baseAddress != nil else { return 0 }
            var start = 0
            while start < bytes.count {
                guard let found = Self.find(Self.createdAt, in: bytes, from: start) else { break }
                let valueStart = found + Self.createdAt.count
                guard valueStart + 24 <= bytes.count else { break }
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<(valueStart + 24)]), as: UTF8.self)
                if let created = Timestamp(rfc3339: text) {
                    let delay = now - created
                    delays.append(Double(delay.components.seconds) * 1000 + Double(delay.components.attoseconds) / 1e15)
                }
                start = valueStart + 24
            }
            return start
        }
        received += delays.count
        pending.removeFirst(min(consumed, pending.count))
        return delays
    }
}
