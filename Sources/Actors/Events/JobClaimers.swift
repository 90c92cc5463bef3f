import Synchronization

/// Workers long-polling for jobs (`POST /v1/jobs/claim` with `wait_ms`), parked per workspace
/// until a job is queued on one of their queues or their wait ends. The ``Journal`` tells it of
/// each job a commit made claimable, and one waiter is woken per job — the one waiting longest
/// on that queue — not every waiter of the queue (who would all race for one job). A woken
/// worker claims again; so does one whose wait ends, in case a retried job's back-off ran out
/// meanwhile. Waiters per workspace are bounded: past the bound a claim does not wait.
public final class JobClaimers: Sendable {
    private struct Waiter {
        let id: Int
        let queues: Set<String>
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var waiters: [String: [Waiter]] = [:]
        var nextID = 0
    }

    /// Waiters one workspace may have at once.
    public let maxWaitersPerWorkspace: Int
    private let state = Mutex(State())

    public init(maxWaitersPerWorkspace: Int = 10_000) {
        self.maxWaitersPerWorkspace = maxWaitersPerWorkspace
    }

    /// Returns when a job is queued on one of `queues` of `workspaceID` (and this waiter is the
    /// one woken for it), or after `timeout`, or at once when the workspace has its bound of
    /// waiters already.
    public func wait(workspaceID: String, queues: Set<String>, timeout: Duration) async {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                guard state.waiters[workspaceID, default: []].count < maxWaitersPerWorkspace else { return nil }
                state.nextID += 1
                state.waiters[workspaceID, default: []].append(Waiter(id: state.nextID, queues: queues, continuation: continuation))
                return state.nextID
            }
            guard let id else { return continuation.resume() }
            Task {
                // Cancelled or not, the wait ends now: a cancelled sleep only ends it sooner.
                do { try await Task.sleep(for: timeout) } catch {}
                self.resume(workspaceID: workspaceID, id: id)
            }
        }
    }

    /// Jobs just committed claimable: for each, the longest-waiting waiter on its queue is woken.
    func jobsQueued(_ jobs: [(workspaceID: String, queue: String)]) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for job in jobs {
                guard var waiting = state.waiters[job.workspaceID],
                      let index = waiting.firstIndex(where: { $0.queues.contains(job.queue) })
                else { continue }
                woken.append(waiting.remove(at: index).continuation)
                state.waiters[job.workspaceID] = waiting.isEmpty ? nil : waiting
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Workers waiting in `workspaceID`.
    public func count(workspaceID: String) -> Int { state.withLock { $0.waiters[workspaceID]?.count ?? 0 } }

    /// Ends the wait of `id` if it is still waiting (each waiter is resumed once, by whichever of
    /// its wake-up and its timeout comes first).
    private func resume(workspaceID: String, id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard var waiting = state.waiters[workspaceID], let index = waiting.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = waiting.remove(at: index)
            state.waiters[workspaceID] = waiting.isEmpty ? nil : waiting
            return waiter
        }
        waiter?.continuation.resume()
    }
}
