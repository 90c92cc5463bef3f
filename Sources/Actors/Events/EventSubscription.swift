import Synchronization

/// One follower of a workspace's events on the ``EventBus``: a bounded buffer and at most one
/// task waiting in ``next()``.
public final class EventSubscription: Sendable {
    /// What ``next()`` brings.
    public enum Delivery: Sendable, Equatable {
        /// Events in seq order, all after the ones delivered before.
        case events([Event])
        /// The buffer overflowed and was dropped: read the log after the last seq seen, then
        /// go on with ``next()`` (events delivered from then on may repeat some read: skip
        /// those at or below the last seq).
        case fellBehind
        /// Nothing happened for a while (``EventBus/heartbeat()``).
        case heartbeat
        /// Cancelled (by ``cancel()`` or the waiting task's cancellation).
        case closed
    }

    private struct State {
        var buffer: [Event] = []
        var bufferedBytes = 0
        var behind = false
        var beat = false
        var closed = false
        var waiter: CheckedContinuation<Delivery, Never>?
    }

    let id: Int
    let workspaceID: String
    let runID: String?
    private let capacity: Int
    private let byteCapacity: Int
    private let bus: EventBus
    private let state = Mutex(State())

    init(id: Int, workspaceID: String, runID: String?, capacity: Int, bytes: Int, bus: EventBus) {
        self.id = id
        self.workspaceID = workspaceID
        self.runID = runID
        self.capacity = capacity
        byteCapacity = bytes
        self.bus = bus
    }

    /// The next delivery, waiting until there is one. One task calls it at a time.
    public func next() async -> Delivery {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Delivery? in
                    if let delivery = Self.take(&state) { return delivery }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Events held for this subscriber, not yet taken.
    public var bufferedCount: Int { state.withLock { $0.buffer.count } }

    /// Stops following: a waiting ``next()`` returns ``Delivery/closed``, and so does every later one.
    public func cancel() {
        let waiter = state.withLock { state -> CheckedContinuation<Delivery, Never>? in
            state.closed = true
            state.buffer = []
            state.bufferedBytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        bus.remove(self)
        waiter?.resume(returning: .closed)
    }

    func deliver(_ events: [Event]) {
        let matching = runID.map { runID in events.filter { $0.runID == runID } } ?? events
        guard !matching.isEmpty else { return }
        let woken = state.withLock { state -> (CheckedContinuation<Delivery, Never>, Delivery)? in
            guard !state.closed, !state.behind else { return nil }
            let bytes = matching.reduce(0) { $0 + $1.encoded.count }
            if state.buffer.count + matching.count > capacity || state.bufferedBytes + bytes > byteCapacity {
                state.buffer = []
                state.bufferedBytes = 0
                state.behind = true
            } else {
                state.buffer += matching
                state.bufferedBytes += bytes
            }
            return Self.wake(&state)
        }
        woken.map { $0.0.resume(returning: $0.1) }
    }

    func beat() {
        let woken = state.withLock { state -> (CheckedContinuation<Delivery, Never>, Delivery)? in
            guard !state.closed else { return nil }
            state.beat = true
            return Self.wake(&state)
        }
        woken.map { $0.0.resume(returning: $0.1) }
    }

    /// The waiter and what to give it, if a task waits.
    private static func wake(_ state: inout State) -> (CheckedContinuation<Delivery, Never>, Delivery)? {
        guard let waiter = state.waiter, let delivery = take(&state) else { return nil }
        state.waiter = nil
        return (waiter, delivery)
    }

    private static func take(_ state: inout State) -> Delivery? {
        if state.closed { return .closed }
        if state.behind {
            state.behind = false
            state.beat = false
            return .fellBehind
        }
        if !state.buffer.isEmpty {
            defer {
                state.buffer = []
                state.bufferedBytes = 0
            }
            state.beat = false
            return .events(state.buffer)
        }
        if state.beat {
            state.beat = false
            return .heartbeat
        }
        return nil
    }
}
