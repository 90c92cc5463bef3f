import Synchronization

/// Wakes one waiting task: a ring while nobody waits is kept for the next wait, and rings
/// that come together are one. The webhook dispatcher waits on one that finished attempts and
/// committed events of workspaces with webhooks ring, so that it acts at once without polling
/// the database.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next ring (or one kept), or after `limit`, or when cancelled.
    public func wait(atMost limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await Task.sleep(for: limit) } catch {}  // cancelled: the ring came first
            }
            group.addTask { await self.nextRing() }
            await group.next()
            group.cancelAll()
            ring()  // ends the other child, whichever it is; a ring it leaves is consumed below
            await group.waitForAll()
        }
        state.withLock { $0.rung = false }
    }

    private func nextRing() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.rung {
                    state.rung = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
