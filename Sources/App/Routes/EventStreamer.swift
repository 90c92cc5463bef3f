import TroupeActors
import TroupeCore
import TroupeTransport

/// Feeds one event stream (Server-Sent Events or a WebSocket: its ``EventSink``): subscribes to the bus first (so nothing committed from then on is
/// missed), reads the log after the client's last seq, then follows the bus — going back to
/// the log whenever the bus says this subscriber fell behind. Every event is written once, in
/// seq order: an event at or below the last seq written is skipped, whichever way it came.
struct EventStreamer: Sendable {
    /// The run a run's stream follows, and how to tell it has finished.
    struct RunFollowed: Sendable {
        let key: EventLog.RunKey
        let isFinished: @Sendable () async throws -> Bool

        var id: String { key.id }
    }

    /// Events read from the log at a time, and the stored bytes a page may hold at most.
    static let pageSize = 256
    static let pageBytes = 512 << 10

    /// The stream's place on the bus, taken when the request was admitted; it ends with the
    /// stream, or with the response if the stream never runs (the client left first).
    final class Subscription: Sendable {
        let subscription: EventSubscription

        init(_ subscription: EventSubscription) {
            self.subscription = subscription
        }

        deinit { subscription.cancel() }
    }

    let events: EventLog
    let subscription: Subscription
    let workspaceID: String
    let run: RunFollowed?
    /// The client's last seq; nil for a workspace stream that starts live.
    let after: Int64?
    /// The event bytes every stream's catch-up may hold together.
    let budget: EventBytesBudget

    func run(_ writer: any EventSink) async throws {
        // A live stream starts after the last seq committed before it subscribes; whatever
        // commits between that read and the subscription is caught up from the log below, so
        // no event committed after the stream began is missed, and none is written twice.
        var last: Int64
        if let after {
            last = after
        } else {
            last = try await events.lastSeq(workspaceID: workspaceID)
        }
        let subscription = self.subscription.subscription
        defer { subscription.cancel() }
        writer.onStop { subscription.cancel() }  // a drain, or the peer closing: the next wait returns .closed
        try await writer.open()
        if try await catchUp(from: &last, writer) { return }
        if let run, try await run.isFinished() {
            // Finished already: its terminal event was replayed above, or committed since (then
            // the log has it now), or the client had it. A dry run has none: its plan is all.
            _ = try await catchUp(from: &last, writer)
            return
        }
        while true {
            switch await subscription.next() {
            case .events(let batch):
                if try await send(batch, after: &last, writer) { return }
            case .fellBehind:
                if try await catchUp(from: &last, writer) { return }
            case .heartbeat:
                try await writer.keepAlive()
            case .closed:
                return
            }
        }
    }

    /// Writes the log's events after `last`; true when the run's stream has ended.
    private func catchUp(from last: inout Int64, _ writer: any EventSink) async throws -> Bool {
        while true {
            let (read, ended) = try await budget.holding(Self.pageBytes) {
                let page = try await events.events(workspaceID: workspaceID, run: run?.key, after: last, limit: Self.pageSize, maxBytes: Self.pageBytes)
                return (page.count, try await send(page, after: &last, writer))
            }
            if ended { return true }
            if read == 0 { return false }
        }
    }

    /// Writes the events of `batch` after `last`, one at a time (a page is never copied into
    /// one buffer: a client that stops reading holds the page and one event's bytes); true
    /// when one ended the run.
    private func send(_ batch: [Event], after last: inout Int64, _ writer: any EventSink) async throws -> Bool {
        for event in batch where event.seq > last {
            try await writer.send([event])
            last = event.seq
            if run != nil, event.type.endsRun { return true }
        }
        return false
    }
}
