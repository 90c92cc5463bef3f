/// The keep-alive, timeout and drain rules of one connection, as a value: told what happened,
/// it says what to do next. Time is a monotonic offset (`Duration` since the connection
/// started), so tests drive it with plain numbers.
///
/// - Idle (between requests): closed silently after `idle` without a byte (keep-alive timeout).
/// - Reading a head: the whole head must arrive within `head` of its first byte, however slowly
///   it trickles (slowloris); else 408 and close.
/// - Reading a body: 408 and close after `body` without progress, or `wholeBody` after its head
///   however steady the progress.
/// - After a response: the next request, unless the request or the server said close.
/// - Streaming (a response body written as it is produced, an event stream): no read deadline;
///   the stream ends when its producer does, or at once on a drain.
/// - Drain: a connection waiting for a request closes now; one whose request is with the
///   responder closes after its response; a stream is ended now, then the connection closes.
struct ConnectionStateMachine {
    typealias Timeouts = HTTPTimeouts

    enum Phase: Equatable {
        case idle
        case readingHead(started: Duration)
        case readingBody(lastProgress: Duration, headAt: Duration)
        case responding
        case streaming
        case closed
    }

    enum TimeoutAction: Equatable {
        /// Nothing was under way: close without a word.
        case close
        /// A request was under way: answer 408, then close.
        case respond408AndClose
    }

    enum NextStep: Equatable {
        case readNextRequest
        case close
    }

    enum DrainAction: Equatable {
        case closeNow
        case closeAfterResponse
        /// Stop the stream's producer now; the connection closes once it has ended the body.
        case endStream
    }

    let timeouts: Timeouts
    private(set) var phase = Phase.idle
    private var draining = false
    private var idleSince: Duration

    init(timeouts: Timeouts, now: Duration) {
        self.timeouts = timeouts
        idleSince = now
    }

    /// Bytes of a request arrived (or were already buffered when the previous one ended).
    mutating func bytesReceived(now: Duration) {
        switch phase {
        case .idle: phase = .readingHead(started: now)
        case .readingBody(_, let headAt): phase = .readingBody(lastProgress: now, headAt: headAt)
        case .readingHead, .responding, .streaming, .closed: break
        }
    }

    /// The head is complete; its body (if any) follows.
    mutating func headReceived(now: Duration) {
        phase = .readingBody(lastProgress: now, headAt: now)
    }

    /// The request is complete and goes to the responder.
    mutating func requestReceived() {
        phase = .responding
    }

    /// The response's head went out and its body streams from now on.
    mutating func streamStarted() {
        phase = .streaming
    }

    /// The response went out (a stream's last chunk included). `keepAlive` is false when the request, the response or a drain
    /// asked to close.
    mutating func responseSent(keepAlive: Bool, now: Duration) -> NextStep {
        guard keepAlive, !draining else {
            phase = .closed
            return .close
        }
        phase = .idle
        idleSince = now
        return .readNextRequest
    }

    /// When the current read wait times out, or nil when no read is under way.
    var readDeadline: Duration? {
        switch phase {
        case .idle: idleSince + timeouts.idle
        case .readingHead(let started): started + timeouts.head
        case .readingBody(let lastProgress, let headAt): min(lastProgress + timeouts.body, headAt + timeouts.wholeBody)
        case .responding, .streaming, .closed: nil
        }
    }

    /// The server is draining.
    mutating func drainRequested() -> DrainAction {
        switch phase {
        case .responding:
            draining = true
            return .closeAfterResponse
        case .streaming:
            draining = true
            return .endStream
        case .idle, .readingHead, .readingBody, .closed:
            phase = .closed
            return .closeNow
        }
    }

    /// The read deadline passed.
    mutating func timedOut() -> TimeoutAction {
        defer { phase = .closed }
        switch phase {
        case .readingHead, .readingBody: return .respond408AndClose
        case .idle, .responding, .streaming, .closed: return .close
        }
    }
}
