import Glibc
import Synchronization
import TroupeSystem

/// A connection after `101 Switching Protocols`, handed to the response's upgrade closure: the
/// bytes the HTTP parser had already read past the request, reads with a deadline, and writes
/// that may come from several tasks at once (each goes out whole, in the order they got the
/// socket). A server drain calls what ``onStop(_:)`` registered.
public struct UpgradedConnection: Sendable {
    /// What one read brought.
    public enum ReadResult: Sendable, Equatable {
        case bytes([UInt8])
        /// The peer closed its side.
        case closed
        /// Nothing came before the deadline.
        case timedOut
    }

    let socket: SocketWriter
    let streams: OpenStreams
    /// Received past the upgrade request, before the closure ran: the new protocol's first bytes.
    public let initialBytes: [UInt8]
    private let writes = WriteTurns()

    init(socket: SocketWriter, streams: OpenStreams, initialBytes: [UInt8]) {
        self.socket = socket
        self.streams = streams
        self.initialBytes = initialBytes
    }

    /// The next bytes from the peer, waiting until `deadline` at most.
    public func read(deadline: ContinuousClock.Instant?) async throws -> ReadResult {
        while true {
            let outcome = try withUnsafeTemporaryAllocation(byteCount: HTTPConnection.readBufferSize, alignment: 16) { buffer throws(SystemCallError) -> ReadResult? in
                switch try Socket.read(socket.fd, into: buffer) {
                case .wouldBlock: return nil
                case .value(0): return .closed
                case .value(let count): return .bytes(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count])))
                }
            }
            if let outcome { return outcome }
            do {
                try await socket.loop.wait(socket.fd, for: .read, deadline: deadline)
            } catch SocketWaitError.timedOut {
                return .timedOut
            }
        }
    }

    /// Sends `bytes` whole, after any write already under way.
    public func write(_ bytes: [UInt8]) async throws {
        await writes.take()
        defer { writes.give() }
        var pending = bytes
        try await socket.writeAll(&pending)
    }

    /// Shuts the socket both ways: a read waiting on it returns ``ReadResult/closed``. The
    /// connection's task still closes the fd.
    public func shutdown() {
        _ = Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
    }

    /// Registers how to end the protocol when the server drains: `stop` is called once — at
    /// once if the server drains already.
    public func onStop(_ stop: @escaping @Sendable () -> Void) {
        if !streams.begin(socket.fd, stop: stop) { stop() }
    }
}

/// Turns at the socket for writes: one at a time, in the order asked.
private final class WriteTurns: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func take() async {
        await withCheckedContinuation { continuation in
            let mine = state.withLock { state -> Bool in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if mine { continuation.resume() }
        }
    }

    func give() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()  // the turn passes straight to the next writer
    }
}
