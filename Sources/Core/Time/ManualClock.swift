import Synchronization

/// A clock that moves only when told to, for tests: sleepers wake when ``advance(by:)`` or
/// ``advance(to:)`` moves `now` to or past their deadline, in deadline order.
public final class ManualClock: WallClock {
    private struct Sleeper {
        let deadline: Timestamp
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Timestamp
        var nextSleeperID = 0
        var sleepers: [Int: Sleeper] = [:]
    }

    private let state: Mutex<State>

    public init(now: Timestamp = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)) {
        state = Mutex(State(now: now))
    }

    public var now: Timestamp { state.withLock { $0.now } }

    /// How many tasks are waiting in ``sleep(until:)``: tests wait for this before advancing.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func advance(by duration: Duration) {
        let target = now + duration
        advance(to: target)
    }

    /// Moves the clock to `target` (never backwards) and wakes every sleeper now due.
    public func advance(to target: Timestamp) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = max(state.now, target)
            let dueIDs = state.sleepers.filter { $0.value.deadline <= state.now }.map(\.key)
            return dueIDs.compactMap { state.sleepers.removeValue(forKey: $0) }
        }
        for sleeper in due.sorted(by: { $0.deadline < $1.deadline }) { sleeper.continuation.resume() }
    }

    public func sleep(until deadline: Timestamp) async throws {
        let id = state.withLock { state -> Int in
            state.nextSleeperID += 1
            return state.nextSleeperID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
