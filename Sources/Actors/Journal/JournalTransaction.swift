import TroupePersistence

/// The open transaction a ``Change`` writes its rows in, on the writer's thread: the
/// connection, and the events and audit entries the change records as it goes (numbered,
/// chained and stored by the journal after the writes, as part of the same change).
public final class JournalTransaction {
    public let db: Database
    private(set) var events: [EventDraft] = []
    private(set) var queuedJobs: [(workspaceID: String, queue: String)] = []
    private(set) var auditDrafts: [AuditDraft] = []
    /// Set by ``fileAudit(in:)`` and ``renameAudit(_:)``.
    private(set) var auditWorkspaceID: String?
    private(set) var auditEvent: String?

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

    /// Records an audit entry besides the origin's (a failed login, written to each of the
    /// user's workspaces).
    public func audit(_ draft: AuditDraft) {
        auditDrafts.append(draft)
    }

    /// Files the origin's audit entry in `workspaceID`'s chain: for a change that learns only
    /// as it runs which workspace it changes (an invitation accepted).
    public func fileAudit(in workspaceID: String) {
        auditWorkspaceID = workspaceID
    }

    /// Names the origin's audit entry after what the change turned out to do (a failure that
    /// dead-letters its job), when the origin has one.
    public func renameAudit(_ event: String) {
        auditEvent = event
    }

    /// Makes `work` due at its time (moving a row of the same kind and key), in this change.
    public func schedule(_ work: DueWork) throws {
        try work.insert(on: db)
        scheduledWork = true
    }

    /// Removes the due work of `kind` and `key`, if any, in this change: the change that fires
    /// it, or one that makes it moot (a cancelled wait).
    public func unschedule(kind: String, key: String) throws {
        try DueWork.delete(kind: kind, key: key, on: db)
    }

    /// Whether the change made work due (the ``Scheduler`` is woken once it commits).
    private(set) var scheduledWork = false

    /// Records that the change makes a job claimable now: once committed, a worker waiting on
    /// its queue is woken (``JobClaimers``).
    public func jobQueued(workspaceID: String, queue: String) {
        queuedJobs.append((workspaceID, queue))
    }
}
