import Synchronization
import TroupeCore
import TroupeSystem

/// Keeps one workspace's flood from delaying every other workspace's requests.
///
/// It counts each workspace's requests in flight on this server. A request that finds its
/// workspace within ``share`` runs as it came. Past the share, the request's work runs at
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
    private let inFlight = Mutex<[String: Int]>([:])
    private let refusals = Atomic<Int>(0)
    private let deferrals = Atomic<Int>(0)

    init(share: Int = 8, bound: Int = 4_096) {
        self.share = max(1, share)
        self.bound = max(self.share, bound)
    }

    /// How many requests were deferred and refused since the start (`/metrics`).
    var counts: (deferred: Int, refused: Int) { (deferrals.load(ordering: .relaxed), refusals.load(ordering: .relaxed)) }

    /// Runs `body` as one request of `workspaceID`: directly within the share, at the deferred
    /// priority past it; throws 503 at the bound.
    func run<T: Sendable>(workspaceID: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let ahead = inFlight.withLock { counts -> Int? in
            let count = counts[workspaceID, default: 0]
            guard count < bound else { return nil }
            counts[workspaceID] = count + 1
            return count
        }
        guard let ahead else {
            refusals.add(1, ordering: .relaxed)
            var error = APIError(.overloaded, "This workspace has \(bound) requests in flight; retry shortly.")
            error.retryAfterSeconds = 1
            throw error
        }
        defer {
            inFlight.withLock { counts in
                let left = (counts[workspaceID] ?? 1) - 1
                counts[workspaceID] = left > 0 ? left : nil
            }
        }
        guard ahead >= share else { return try await body() }
        deferrals.add(1, ordering: .relaxed)
        return try await Self.deferred(body)
    }

    /// `body` in a task of its own at the deferred priority, on the connection's loop: a child
    /// task would take this task's priority, and awaiting a task's value would raise it to
    /// this one's, so the answer comes back through a continuation. Cancelling this task
    /// cancels that one.
    private static func deferred<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let worker = LockedBox<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let work: @Sendable () async -> Void = {
                    do { continuation.resume(returning: try await body()) } catch { continuation.resume(throwing: error) }
                }
                let task = EventLoop.current.map { Task(executorPreference: $0, priority: EventLoop.deferredPriority, operation: work) }
                    ?? Task(priority: EventLoop.deferredPriority, operation: work)
                if worker.withLock({ $0.task = task; return $0.cancelled }) { task.cancel() }
            }
        } onCancel: {
            worker.withLock { $0.cancelled = true; return $0.task }?.cancel()
        }
    }
}
