import TroupeCore

/// Workers long-polling for jobs (`POST /v1/jobs/claim` with `wait_ms`), parked per workspace
/// until a job is queued on one of their queues or their wait ends. A woken worker tries to
/// claim again; so does one whose wait ends, in case a retried job's back-off ran out meanwhile.
final class JobWaiters: Sendable {
    private struct Waiter {
        let id: Int
        let queues: Set<String>
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var waiters: [String: [Waiter]] = [:]
        var nextID = 0
    }

    private let state = LockedBox(State())

    /// Returns when a job is queued on one of `queues` of `workspaceID`, or after `timeout`.
    func wait(workspaceID: String, queues: Set<String>, timeout: Duration) async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withCheckedContinuation { continuation in
            state.withLock { $0.waiters[workspaceID, default: []].append(Waiter(id: id, queues: queues, continuation: continuation)) }
            Task {
                try? await Task.sleep(for: timeout)
                resume(workspaceID: workspaceID) { $0.id == id }
            }
        }
    }

    /// Wakes every waiter of `workspaceID` listening on `queue`.
    func notify(workspaceID: String, queue: String) {
        resume(workspaceID: workspaceID) { $0.queues.contains(queue) }
    }

    /// Number of workers waiting in `workspaceID` (for tests and metrics).
    func count(workspaceID: String) -> Int { state.withLock { $0.waiters[workspaceID]?.count ?? 0 } }

    /// Removes the matching waiters, then resumes them outside the lock; each is resumed once,
    /// by whichever of its wake-up and its timeout comes first.
    private func resume(workspaceID: String, where matches: (Waiter) -> Bool) {
        let woken = state.withLock { state -> [Waiter] in
            guard let waiting = state.waiters[workspaceID] else { return [] }
            let (hit, rest) = (waiting.filter(matches), waiting.filter { !matches($0) })
            state.waiters[workspaceID] = rest.isEmpty ? nil : rest
            return hit
        }
        for waiter in woken { waiter.continuation.resume() }
    }
}
