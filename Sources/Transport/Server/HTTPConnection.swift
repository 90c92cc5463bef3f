import Glibc
import TroupeSystem

/// One accepted connection, served by one task: read, parse, respond, write, repeat.
///
/// Requests are answered in order (pipelined responses are queued and flushed together before
/// the next read). The task owns its fd and always deregisters and closes it, calling
/// `willClose` first: once closed, the fd's number may at once name another socket of the
/// process, so whoever tracks it must have forgotten it by then.
struct HTTPConnection {
    let socket: SocketWriter
    let responder: any HTTPResponder
    let configuration: HTTPServer.Configuration
    /// The server's bound on bytes held for bodies not yet whole, shared by its connections.
    let bodyBuffers: BodyBufferBudget
    /// The server's streams in progress, which a drain ends.
    let streams: OpenStreams
    let isDraining: @Sendable () -> Bool
    let willClose: @Sendable () -> Void

    private var fd: Int32 { socket.fd }
    private var loop: EventLoop { socket.loop }

    /// What one read attempt brought.
    private enum ReadOutcome {
        case bytes(filledBuffer: Bool)
        case endOfStream
        case wouldBlock
    }

    static let readBufferSize = 16 * 1024

    func run() async {
        let origin = ContinuousClock.now
        func now() -> Duration { ContinuousClock.now - origin }
        let peer = SocketAddress.peerHost(of: fd)
        var parser = HTTPRequestParser(limits: configuration.limits)
        var machine = ConnectionStateMachine(timeouts: configuration.timeouts, now: .zero)
        var output: [UInt8] = []
        var head: HTTPRequestHead?
        var body: [UInt8] = []
        // The part of ``bodyBuffers`` this connection's unfinished body holds.
        var reserved = 0
        // After a read that did not fill the buffer the socket was empty: wait for the next edge
        // instead of making a read that would only say EAGAIN.
        var mayHaveMore = true
        defer {
            bodyBuffers.release(reserved)
            willClose()
            loop.deregister(fd)
            close(fd)
        }
        do {
            while true {
                while let event = try parser.next() {
                    switch event {
                    case .head(let received):
                        head = received
                        body = []
                        machine.headReceived(now: now())
                        if received.expectsContinue, parser.bufferedCount == 0 {
                            output.append(contentsOf: ResponseSerializer.continue100)
                            try await socket.writeAll(&output)
                        }
                    case .body(let chunk):
                        guard bodyBuffers.reserve(chunk.count) else {
                            throw HTTPParseError(status: 503, code: "overloaded",
                                                 message: "The server holds too many unfinished request bodies; retry shortly.")
                        }
                        reserved += chunk.count
                        body.append(contentsOf: chunk)
                        machine.bytesReceived(now: now())
                    case .end:
                        guard let requestHead = head else { return }
                        bodyBuffers.release(reserved)
                        reserved = 0
                        machine.requestReceived()
                        let response = await responder.respond(to: HTTPRequest(head: requestHead, body: body, remoteAddress: peer))
                        if isDraining() { _ = machine.drainRequested() }
                        let keepAlive = requestHead.keepAlive
                            && !(response.headers["Connection"]?.equalsIgnoringASCIICase("close") ?? false)
                        let next: ConnectionStateMachine.NextStep
                        if case .upgrade(let handler) = response.body, response.status == 101 {
                            ResponseSerializer.appendHead(status: 101, headers: response.headers, framing: .none, close: false, into: &output)
                            try await socket.writeAll(&output)
                            machine.streamStarted()
                            defer { streams.end(fd) }
                            let connection = UpgradedConnection(socket: socket, streams: streams, initialBytes: parser.takeBuffered())
                            do {
                                try await handler(connection)
                            } catch {
                                // The new protocol ended on an error of its own (the peer went away): the connection closes either way.
                            }
                            return
                        } else if case .stream(let produce) = response.body, !Self.omitsBody(response, for: requestHead) {
                            ResponseSerializer.appendHead(status: response.status, headers: response.headers, framing: .chunked,
                                                          close: !keepAlive || isDraining(), into: &output)
                            try await socket.writeAll(&output)
                            try await stream(produce, machine: &machine)
                            next = machine.responseSent(keepAlive: keepAlive, now: now())
                        } else {
                            next = machine.responseSent(keepAlive: keepAlive, now: now())
                            try await write(response, for: requestHead, keepAlive: next == .readNextRequest, into: &output)
                        }
                        if next == .close {
                            try await socket.writeAll(&output)
                            return
                        }
                        if parser.bufferedCount > 0 { machine.bytesReceived(now: now()) }
                    }
                }
                try await socket.writeAll(&output)
                if !mayHaveMore {
                    let deadline = machine.readDeadline.map { origin + $0 }
                    do {
                        try await loop.wait(fd, for: .read, deadline: deadline)
                    } catch SocketWaitError.timedOut {
                        if machine.timedOut() == .respond408AndClose {
                            await answerAndClose(status: 408, code: "request_timeout",
                                                 message: "The request was not received in time.", head: head, after: &output)
                        }
                        return
                    } catch SocketWaitError.draining {
                        _ = machine.drainRequested()  // waiting for a request: close now
                        return
                    }
                }
                switch try read(into: &parser) {
                case .bytes(let filled):
                    mayHaveMore = filled
                    machine.bytesReceived(now: now())
                case .wouldBlock:
                    mayHaveMore = false
                case .endOfStream:
                    return
                }
            }
        } catch let error as HTTPParseError {
            // Answers already produced for earlier pipelined requests go first.
            await answerAndClose(status: error.status, code: error.code, message: error.message, head: nil, after: &output)
        } catch {
            // The peer went away, a wait was interrupted (drain, forced close), or a socket call
            // failed: nothing more can be said on this connection.
        }
    }

    private func read(into parser: inout HTTPRequestParser) throws(SystemCallError) -> ReadOutcome {
        try withUnsafeTemporaryAllocation(byteCount: Self.readBufferSize, alignment: 16) { buffer throws(SystemCallError) in
            switch try Socket.read(fd, into: buffer) {
            case .wouldBlock: return .wouldBlock
            case .value(0): return .endOfStream
            case .value(let count):
                parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                return .bytes(filledBuffer: count == buffer.count)
            }
        }
    }

    private static func omitsBody(_ response: HTTPResponse, for head: HTTPRequestHead) -> Bool {
        head.method == "HEAD" || response.status == 204 || response.status == 304
    }

    /// Serializes `response` into `output` (a streaming body that must be omitted: its head only).
    private func write(
        _ response: HTTPResponse, for head: HTTPRequestHead, keepAlive: Bool, into output: inout [UInt8]
    ) async throws {
        let omitBody = Self.omitsBody(response, for: head)
        switch response.body {
        case .bytes(let bytes):
            ResponseSerializer.appendHead(
                status: response.status, headers: response.headers, framing: .length(bytes.count),
                close: !keepAlive, into: &output)
            if !omitBody { output.append(contentsOf: bytes) }
            if output.count >= 64 * 1024 { try await socket.writeAll(&output) }
        case .stream:
            ResponseSerializer.appendHead(
                status: response.status, headers: response.headers, framing: .chunked, close: !keepAlive, into: &output)
            try await socket.writeAll(&output)
        case .upgrade:
            // An upgrade answered with another status than 101 has nothing to take over.
            ResponseSerializer.appendHead(status: response.status, headers: response.headers, framing: .length(0), close: !keepAlive, into: &output)
        }
    }

    /// Runs a streaming body's producer to its end, or until a drain stops it (the stop it
    /// registered with ``OpenStreams``), then ends the body with the last chunk. It runs in this
    /// connection's task: an idle event stream costs no task of its own. A producer that failed
    /// (the client went away) leaves the body unended: the connection then closes.
    private func stream(_ produce: @escaping @Sendable (HTTPBodyWriter) async throws -> Void, machine: inout ConnectionStateMachine) async throws {
        machine.streamStarted()
        defer { streams.end(fd) }
        do {
            try await produce(ChunkedBodyWriter(socket: socket, streams: streams))
        } catch is CancellationError where isDraining() {
            // Stopped by the drain: the body still ends properly.
        }
        if isDraining() { _ = machine.drainRequested() }  // .endStream: the body ends, then the connection closes
        var last = ChunkedBodyWriter.lastChunk
        try await socket.writeAll(&last)
    }

    /// Answers a request the transport refuses itself, after `output` (the answers already
    /// produced for earlier pipelined requests), then closes without losing the answer.
    private func answerAndClose(status: Int, code: String, message: String, head: HTTPRequestHead?, after output: inout [UInt8]) async {
        var response = HTTPResponse.error(status, code: code, message: message, requestID: RequestID.resolve(head?.headers))
        if status == 503 { response.headers.set("Retry-After", "1") }
        guard case .bytes(let bytes) = response.body else { return }
        ResponseSerializer.appendHead(
            status: status, headers: response.headers, framing: .length(bytes.count), close: true, into: &output)
        output.append(contentsOf: bytes)
        // The peer may be gone already: then there is no one left to tell.
        try? await socket.writeAll(&output)
        await socket.lingeringClose()
    }
}
