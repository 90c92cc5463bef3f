import TroupePersistence

/// The open transaction a ``Change`` writes its rows in, on the writer's thread: the
/// connection, and the events the change records as it goes (numbered and stored by the
/// journal after the writes, as part of the same change).
public final class JournalTransaction {
    public let db: Database
    private(set) var events: [EventDraft] = []
    private(set) var queuedJobs: [(workspaceID: String, queue: String)] = []

    init(db: Database) {
        self.db = db
    }

    /// Records that the change causes `event`.
    public func emit(_ event: EventDraft) {
        events.append(event)
    }

    /// Records that the change causes `events`, in this order.
    public func emit(_ events: [EventDraft]) {
        self.events += events
    }

    /// Records that the change makes a job claimable now: once committed, a worker waiting on
    /// its queue is woken (``JobClaimers``).
    public func jobQueued(workspaceID: String, queue: String) {
        queuedJobs.append((workspaceID, queue))
    }
}
