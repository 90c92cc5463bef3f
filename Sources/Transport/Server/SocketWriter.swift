import Glibc
import TroupeSystem

/// Writes bytes to a non-blocking socket, waiting for writability when the kernel's buffer is
/// full: a slow reader suspends the writer instead of making the server buffer without bound.
struct SocketWriter: Sendable {
    let fd: Int32
    let loop: EventLoop
    /// A write that makes no progress for this long fails with ``SocketWaitError/timedOut``.
    let writeTimeout: Duration

    /// Writes all of `bytes` (one `send` when the buffer has room), then empties it.
    func writeAll(_ bytes: inout [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let result = try bytes.withUnsafeBytes { raw throws(SystemCallError) in
                try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch result {
            case .value(let count): offset += count
            case .wouldBlock: try await loop.wait(fd, for: .write, deadline: .now + writeTimeout)
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    /// Whether the peer has closed its side or reset the connection (a zero-byte or failed
    /// peek; bytes waiting to be read, or none yet, mean it is still there).
    func peerHasClosed() -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    }

    /// Half-closes, then reads and discards for a moment before the fd is closed, so that a
    /// final response is not lost to a reset caused by unread request bytes (RFC 9112 §9.6).
    func lingeringClose() async {
        shutdown(fd, Int32(SHUT_WR))
        let deadline = ContinuousClock.now + .milliseconds(500)
        var discarded = 0
        while discarded < 1 << 20, ContinuousClock.now < deadline {
            let outcome = withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 16) { buffer in
                try? Socket.read(fd, into: buffer)
            }
            switch outcome {
            case .value(let count)? where count > 0: discarded += count
            case .wouldBlock?:
                do { try await loop.wait(fd, for: .read, deadline: deadline) } catch { return }
            default: return
            }
        }
    }
}

/// A streaming body sent with chunked encoding (RFC 9112 §7.1): each write is one chunk. When
/// the client has gone away (reset, closed, or not reading past the write timeout) a write
/// throws `CancellationError`, so a producer (an event stream) stops as it would on cancellation.
struct ChunkedBodyWriter: HTTPBodyWriter {
    let socket: SocketWriter
    let streams: OpenStreams

    func onStop(_ stop: @escaping @Sendable () -> Void) {
        if !streams.begin(socket.fd, stop: stop) { stop() }
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        // A client that hung up is known at once, not a write or two later: the first write to
        // a peer that sent its FIN usually succeeds (its RST comes back after), which left an
        // idle stream's slot held for one or two more 15 s keep-alives.
        if socket.peerHasClosed() { throw CancellationError() }
        var chunk = Array(String(bytes.count, radix: 16).utf8) + [0x0D, 0x0A]
        chunk.append(contentsOf: bytes)
        chunk.append(contentsOf: [0x0D, 0x0A])
        do {
            try await socket.writeAll(&chunk)
        } catch {
            throw CancellationError()
        }
    }
}
