import Synchronization
import TroupeSystem

/// Keeps one workspace's flood from delaying every other workspace's requests.
///
/// It counts each workspace's requests in flight on this server. A request that finds its
/// workspace within ``share`` runs as it came, and so does one past it when no other workspace
/// sent a request within its share in the last ``window`` (nobody to wait behind, and
/// deferring costs a task). Otherwise the request's work runs at
/// ``EventLoop/deferredPriority``: the event loops run such jobs after the others, and the
/// database writer puts such changes behind the others in its batches. So a workspace that
/// sends more than its share in parallel waits behind the quiet ones, not the other way round.
/// At ``bound`` in flight, the workspace's next request is refused with 503 `overloaded`
/// (API.md: its mailbox is full) while other workspaces go on.
final class FairShare: Sendable {
    /// Requests in flight per workspace before its next ones are deferred.
    let share: Int
    /// Requests in flight per workspace past which its next ones are refused.
    let bound: Int
    /// How long a request within its share makes other workspaces' requests past theirs wait.
    let window: Duration
    /// Requests in flight by workspace, and the last request that came within its share.
    private let inFlight = Mutex<(byWorkspace: [String: Int], lastModest: (workspaceID: String, at: ContinuousClock.Instant)?)>(([:], nil))
    private let refusals = Atomic<Int>(0)
    private let deferrals = Atomic<Int>(0)

    /// The time the window is measured on (a manual one in tests).
    private let now: @Sendable () -> ContinuousClock.Instant

    init(share: Int = 8, bound: Int = 4_096, window: Duration = .seconds(1),
         now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.share = max(1, share)
        self.bound = max(self.share, bound)
        self.window = window
        self.now = now
    }

    /// How many requests were deferred and refused since the start (`/metrics`).
    var counts: (deferred: Int, refused: Int) { (deferrals.load(ordering: .relaxed), refusals.load(ordering: .relaxed)) }

    /// Counts one more request of `workspaceID` in flight and says whether its work is to wait
    /// behind other workspaces' (then it goes through ``deferred(_:)``); throws 503 at the
    /// bound. Each admitted request is ended with ``release(_:)``.
    func admit(_ workspaceID: String) throws(APIError) -> Bool {
        let now = now()
        let deferred = inFlight.withLock { state -> Bool? in
            let count = state.byWorkspace[workspaceID, default: 0]
            guard count < bound else { return nil }
            state.byWorkspace[workspaceID] = count + 1
            guard count >= share else {
                state.lastModest = (workspaceID, now)
                return false
            }
            guard let modest = state.lastModest else { return false }
            return modest.workspaceID != workspaceID && now - modest.at < window
        }
        guard let deferred else {
            refusals.add(1, ordering: .relaxed)
            var error = APIError(.overloaded, "This workspace has \(bound) requests in flight; retry shortly.")
            error.retryAfterSeconds = 1
            throw error
        }
        if deferred { deferrals.add(1, ordering: .relaxed) }
        return deferred
    }

    /// Ends a request ``admit(_:)`` counted.
    func release(_ workspaceID: String) {
        inFlight.withLock { state in
            let left = (state.byWorkspace[workspaceID] ?? 1) - 1
            state.byWorkspace[workspaceID] = left > 0 ? left : nil
        }
    }

    /// `body` in a task of its own at the deferred priority, on the connection's loop: a child
    /// task would take this task's priority, and awaiting a task's value would raise it to
    /// this one's, so the answer comes back through a continuation. Cancelling this task
    /// cancels that one.
    static func deferred<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let worker = DeferredWorker()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let work: @Sendable () async -> Void = {
                    do { continuation.resume(returning: try await body()) } catch { continuation.resume(throwing: error) }
                }
                let task = EventLoop.current.map { Task(executorPreference: $0, priority: EventLoop.deferredPriority, operation: work) }
                    ?? Task(priority: EventLoop.deferredPriority, operation: work)
                worker.started(task)
            }
        } onCancel: {
            worker.cancel()
        }
    }
}

/// The task of a deferred request's work, and whether its request was cancelled, whichever
/// comes first: a cancellation before the task exists cancels it as it starts.
private final class DeferredWorker: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func started(_ task: Task<Void, Never>) {
        if state.withLock({ $0.task = task; return $0.cancelled }) { task.cancel() }
    }

    func cancel() {
        state.withLock { $0.cancelled = true; return $0.task }?.cancel()
    }
}
