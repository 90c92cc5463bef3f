import Synchronization
import TroupeActors
import TroupeCore
import TroupeTransport

/// `GET /v1/events/ws` after its 101: the workspace's events as one JSON text frame each (the
/// ``EventStreamer`` of the SSE stream, so the same resume, catch-up and order), while a second
/// task reads the client's frames: pings are answered, a close is answered and ends the
/// stream, a protocol error closes with its code (RFC 6455 §7.4.1).
///
/// The bus's beat (every 15 s) sends a ping; a client that has not answered the previous one
/// by then is closed with 1001. A drain closes with 1001 too.
struct WebSocketEventStream: Sendable {
    let streamer: EventStreamer
    /// How long a close waits for the client's reply before the connection closes anyway.
    static let closeGrace: Duration = .seconds(2)

    func run(_ connection: UpgradedConnection) async {
        let state = WebSocketSession()
        let sink = WebSocketEventSink(connection: connection, session: state)
        // The reader gets a task of its own; the streamer runs in the connection's.
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await read(connection, state, sink)
                return true
            }
            do {
                try await streamer.run(sink)
            } catch {
                state.stopStreaming()  // the peer is gone or stopped answering: nothing more to send
            }
            // Ended by the server (a drain), the client (its close) or a dead peer.
            do {
                try await sink.close(code: state.closeCode(), reason: "")
            } catch {
                // The peer is gone: there is no one to tell.
            }
            // The reader ends on the client's reply; past the grace, the socket is shut so that it does.
            group.addTask {
                do {
                    try await Task.sleep(for: Self.closeGrace)
                } catch {
                    return false  // the reader ended first
                }
                connection.shutdown()
                return false
            }
            while let readerEnded = await group.next() {
                if readerEnded { group.cancelAll() }
            }
        }
    }

    /// Reads frames until the client closes, breaks the protocol or goes away — or, once the
    /// server has sent its close, until the client's reply (or the socket is shut after
    /// ``closeGrace``). It waits without a deadline: an idle socket costs no wake-ups.
    private func read(_ connection: UpgradedConnection, _ session: WebSocketSession, _ sink: WebSocketEventSink) async {
        var parser = WebSocketFrameParser(maxMessageBytes: 64 * 1024)
        parser.append(connection.initialBytes)
        while true {
            do {
                while let message = try parser.next() {
                    switch message {
                    case .ping(let payload): try await connection.write(WebSocketFrame.encode(.pong, payload))
                    case .pong: session.answered()
                    case .text, .binary: break  // the stream is one way; what a client says is ignored
                    case .close(let code, _):
                        session.closing(code: code ?? 1000)  // echo the client's code (§5.5.1)
                        return
                    }
                }
            } catch let error as WebSocketProtocolError {
                session.closing(code: error.closeCode)
                return
            } catch {
                session.stopStreaming()
                return
            }
            let result: UpgradedConnection.ReadResult
            do {
                result = try await connection.read(deadline: nil)
            } catch {
                session.stopStreaming()  // a drain interrupted the wait, or the socket failed
                return
            }
            switch result {
            case .bytes(let bytes): parser.append(bytes)
            case .closed, .timedOut:
                session.stopStreaming()
                return
            }
        }
    }
}

/// What the two tasks of a WebSocket stream share: whether a ping waits for its pong, the
/// close code to send, and how to stop the streamer.
final class WebSocketSession: Sendable {
    private struct State {
        var pingUnanswered = false
        var closeCode: UInt16 = 1001
        var closed = false
        var stopped = false
        var stop: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// A ping went out; whether the previous one was answered.
    func pinged() -> Bool {
        state.withLock { state in
            defer { state.pingUnanswered = true }
            return !state.pingUnanswered
        }
    }

    func answered() { state.withLock { $0.pingUnanswered = false } }

    /// The client closed (its code is echoed) or broke the protocol: the streamer stops.
    func closing(code: UInt16) {
        state.withLock { $0.closeCode = code }
        stopStreaming()
    }

    func stopStreaming() {
        let stop = state.withLock { state -> (@Sendable () -> Void)? in
            defer {
                state.stop = nil
                state.stopped = true
            }
            return state.stop
        }
        stop?()
    }

    /// Registers how to stop the streamer; at once when the stream was stopped already (the
    /// reader can meet the client's close before the streamer has subscribed).
    func onStop(_ stop: @escaping @Sendable () -> Void) {
        let already = state.withLock { state -> Bool in
            if !state.stopped { state.stop = stop }
            return state.stopped
        }
        if already { stop() }
    }

    func closeCode() -> UInt16 { state.withLock { $0.closeCode } }

    /// Marks the close frame sent; false when it was already.
    func markClosed() -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.closed = true
            return true
        }
    }
}

/// The streamer's side of a WebSocket: one text frame per event, a ping per beat.
struct WebSocketEventSink: EventSink {
    let connection: UpgradedConnection
    let session: WebSocketSession

    /// The peer did not answer the last ping before the next beat.
    struct Unresponsive: Error {}

    func open() async throws {}

    func send(_ events: [Event]) async throws {
        var bytes: [UInt8] = []
        for event in events { bytes += WebSocketFrame.encode(.text, event.encoded) }
        try await connection.write(bytes)
    }

    func keepAlive() async throws {
        guard session.pinged() else { throw Unresponsive() }
        try await connection.write(WebSocketFrame.encode(.ping, []))
    }

    func onStop(_ stop: @escaping @Sendable () -> Void) {
        session.onStop(stop)
        connection.onStop { [session] in session.stopStreaming() }
    }

    func close(code: UInt16, reason: String) async throws {
        guard session.markClosed() else { return }
        try await connection.write(WebSocketFrame.close(code: code, reason: reason))
    }
}
