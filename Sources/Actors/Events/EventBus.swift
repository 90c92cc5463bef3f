import Synchronization

/// Events in memory, just committed, for whoever follows a workspace live: streams now,
/// webhooks and WebSockets later. The ``Journal`` publishes each commit's events in commit
/// order; a ``EventSubscription`` takes them in that order.
///
/// Nothing here is a second copy of the log: a subscriber's buffer is bounded, and one that
/// falls behind (stops reading) has its buffer dropped and is told so, to read the durable
/// ``EventLog`` from its last seq — no event is lost and no slow client grows the server's memory.
/// Subscribers per workspace are bounded too.
public final class EventBus: Sendable {
    /// The bus's bounds.
    public struct Configuration: Sendable {
        /// Events one subscriber may hold unread before it is cut back to the log.
        public var bufferCapacity = 512
        /// Bytes of events (as they are written) one subscriber may hold unread before it is
        /// cut back to the log, whatever the events' size.
        public var bufferBytes = 256 << 10
        /// Subscribers of one workspace at most (API.md: 100 streams, SSE and WebSocket
        /// together); past it ``subscribe(workspaceID:runID:)`` throws.
        public var maxSubscribersPerWorkspace = 100
        /// Subscribers of every workspace together at most, below the connection cap, so that
        /// streams can never take every connection.
        public var maxSubscribers = 4_096

        public init() {}
    }

    /// Refused: the workspace (or, with `serverWide`, the server) has its bound of subscribers.
    public struct TooManySubscribers: Error, Sendable, Equatable {
        public let limit: Int
        public var serverWide = false
    }

    public let configuration: Configuration
    /// Workers long-polling for jobs, woken by the commits that queue them.
    public let claimers = JobClaimers()
    private let subscribers = Mutex<[String: [Int: EventSubscription]]>([:])
    private let nextID = Atomic<Int>(0)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Follows the workspace's events from now on (with `runID`, that run's only). Cancel the
    /// subscription when done.
    public func subscribe(workspaceID: String, runID: String? = nil) throws(TooManySubscribers) -> EventSubscription {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let subscription = EventSubscription(id: id, workspaceID: workspaceID, runID: runID, capacity: configuration.bufferCapacity,
                                             bytes: configuration.bufferBytes, bus: self)
        let limit = configuration.maxSubscribersPerWorkspace
        let refusal = subscribers.withLock { table -> TooManySubscribers? in
            guard table[workspaceID, default: [:]].count < limit else { return TooManySubscribers(limit: limit) }
            guard table.values.reduce(0, { $0 + $1.count }) < configuration.maxSubscribers else {
                return TooManySubscribers(limit: configuration.maxSubscribers, serverWide: true)
            }
            table[workspaceID, default: [:]][id] = subscription
            return nil
        }
        if let refusal { throw refusal }
        return subscription
    }

    /// Subscribers following `workspaceID` now.
    public func subscriberCount(workspaceID: String) -> Int {
        subscribers.withLock { $0[workspaceID]?.count ?? 0 }
    }

    /// Subscribers of every workspace.
    public var subscriberCount: Int {
        subscribers.withLock { $0.values.reduce(0) { $0 + $1.count } }
    }

    /// Hands just-committed `events` (in seq order per workspace) to their subscribers.
    func publish(_ events: [Event]) {
        guard let first = events.first else { return }
        if events.allSatisfy({ $0.workspaceID == first.workspaceID }) {  // as a change's events are
            deliver(events, of: first.workspaceID)
            return
        }
        var byWorkspace: [String: [Event]] = [:]
        for event in events { byWorkspace[event.workspaceID, default: []].append(event) }
        for (workspaceID, events) in byWorkspace { deliver(events, of: workspaceID) }
    }

    private func deliver(_ events: [Event], of workspaceID: String) {
        let followers = subscribers.withLock { table in table[workspaceID].map { Array($0.values) } ?? [] }
        for follower in followers { follower.deliver(events) }
    }

    /// Wakes every subscriber with ``EventSubscription/Delivery/heartbeat`` (a stream then
    /// writes its keep-alive comment). Called every 15 s by the server.
    public func heartbeat() {
        let all = subscribers.withLock { table in table.values.flatMap(\.values) }
        for subscription in all { subscription.beat() }
    }

    func remove(_ subscription: EventSubscription) {
        subscribers.withLock { table in
            table[subscription.workspaceID]?.removeValue(forKey: subscription.id)
            if table[subscription.workspaceID]?.isEmpty == true { table.removeValue(forKey: subscription.workspaceID) }
        }
    }
}
