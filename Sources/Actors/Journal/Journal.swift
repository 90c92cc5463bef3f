import TroupeCore
import TroupePersistence

/// The one write path (DESIGN.md, "One write path: the journal"): every change of state is a
/// ``Change`` committed here, in one transaction of the group commit, with its events (numbered
/// per workspace, no gap, in commit order), its audit entries (chained per workspace, in
/// commit order) and the idempotent answer its request carried — all of it commits or none
/// of it does. After the commit, on the writer's thread and so in
/// commit order, the events go to the ``EventBus`` and the jobs it made claimable wake their
/// ``JobClaimers``; only then does the caller resume.
///
/// No other code submits to the writer to change state; stores keep their queries and hand
/// their writes to the journal as closures.
public final class Journal: Sendable {
    public let bus: EventBus
    /// Where a change's events meet the webhooks that want them.
    public let outbox: WebhookOutbox
    /// Rung after a commit that made work due, so that the ``Scheduler`` looks again at once.
    public let dueWork = Doorbell()
    private let writer: GroupCommitWriter
    private let clock: any WallClock

    public init(writer: GroupCommitWriter, clock: any WallClock, bus: EventBus = EventBus(), outbox: WebhookOutbox = WebhookOutbox()) {
        self.writer = writer
        self.clock = clock
        self.bus = bus
        self.outbox = outbox
    }

    /// Commits `change` and returns its result once durable (and its events published).
    @discardableResult
    public func commit<T: Sendable>(_ change: Change<T>) async throws -> T {
        let answer = change.origin.answer.flatMap { $0.take() ? $0 : nil }  // nil unless this change took it
        let intent = change.origin.audit
        let audit = intent?.take().map(PreparedAudit.init)  // likewise; its canonical form made here, off the writer
        let write = change.write
        let clock = clock
        let bus = bus
        let outbox = outbox
        let dueWork = dueWork
        do {
            let committed = try await writer.submit({ db -> Committed<T> in
                let transaction = JournalTransaction(db: db)
                let value = try write(transaction)
                try answer?.write(db)
                let now = clock.now
                let events = transaction.events.isEmpty ? [] : try EventLog.append(transaction.events, on: db, at: now)
                var own = audit
                if let workspaceID = transaction.auditWorkspaceID { own?.draft.workspaceID = workspaceID }
                if let event = transaction.auditEvent, var draft = own?.draft {
                    draft.event = event
                    own = PreparedAudit(draft)  // its canonical form names the event: made again, on this rare path
                }
                let entries = (own.map { [$0] } ?? []) + transaction.auditDrafts.map(PreparedAudit.init)
                if !entries.isEmpty { try AuditLog.append(entries, on: db, at: now) }
                return Committed(value: value, events: events, queuedJobs: transaction.queuedJobs, scheduledWork: transaction.scheduledWork)
            }, afterCommit: { committed in
                answer?.markCommitted()
                if audit != nil { intent?.markCommitted() }
                if !committed.events.isEmpty {
                    bus.publish(committed.events)
                    outbox.committed(committed.events)
                }
                if !committed.queuedJobs.isEmpty { bus.claimers.jobsQueued(committed.queuedJobs) }
                if committed.scheduledWork { dueWork.ring() }
            })
            return committed.value
        } catch {
            answer?.release()
            if audit != nil { intent?.release() }
            throw error
        }
    }

    /// What a change left to do once committed.
    private struct Committed<T: Sendable>: Sendable {
        let value: T
        let events: [Event]
        let queuedJobs: [(workspaceID: String, queue: String)]
        let scheduledWork: Bool
    }

    /// Commits the origin's audit entry on its own: for a request that changed nothing (it was
    /// refused, or its answer needed no write) but is to be on the record. Nothing when a
    /// change already carried it.
    public func commitAudit(_ origin: ChangeOrigin) async throws {
        guard let intent = origin.audit, !intent.committed else { return }
        try await commit(Change(origin) { _ in })
    }

    /// Commits the writes of `write` with no events of their own (the origin still counts: it
    /// may carry the request's idempotent answer).
    @discardableResult
    public func commit<T: Sendable>(_ origin: ChangeOrigin, _ write: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await commit(Change(origin) { transaction in try write(transaction.db) })
    }
}
