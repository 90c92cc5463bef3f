import Synchronization

/// The audit entry a request's change is to carry, set up before the change by whoever knows
/// the route (the server's gate), completed by the handler (the id of what it creates, a note),
/// and written by the journal in the transaction of the first change the request commits —
/// as ``IdempotentAnswer`` is. A request that commits nothing has its entry written on its own
/// (``Journal/commitAudit(_:)``).
public final class AuditIntent: Sendable {
    private struct State {
        var draft: AuditDraft
        /// 0: not yet taken; 1: taken by a change in flight; 2: committed with it.
        var stage = 0
    }

    private let state: Mutex<State>

    public init(_ draft: AuditDraft) {
        state = Mutex(State(draft: draft))
    }

    /// The entry as it stands.
    public var draft: AuditDraft { state.withLock { $0.draft } }

    /// Whether a committed change carried it.
    public var committed: Bool { state.withLock { $0.stage == 2 } }

    /// Names the change's target (the id of what the request creates).
    public func setTarget(_ id: String) { state.withLock { $0.draft.targetID = id } }

    /// Names what the request turned out to be (a workspace update that changes its plan).
    public func setEvent(_ event: String) { state.withLock { $0.draft.event = event } }

    /// Files the entry in another workspace's chain (a workspace the request creates).
    public func setWorkspace(_ workspaceID: String) { state.withLock { $0.draft.workspaceID = workspaceID } }

    /// Sets the entry's note.
    public func setNote(_ note: String?) { state.withLock { $0.draft.note = note } }

    /// The entry, for the asking change, if none took it before (again after ``release()``).
    func take() -> AuditDraft? {
        state.withLock { state in
            guard state.stage == 0 else { return nil }
            state.stage = 1
            return state.draft
        }
    }

    func markCommitted() { state.withLock { $0.stage = 2 } }

    /// The change that took it failed: the request's next change may take it.
    func release() { state.withLock { $0.stage = 0 } }
}
