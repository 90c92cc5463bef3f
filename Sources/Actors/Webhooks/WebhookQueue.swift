import TroupeCore
import TroupePersistence

/// The webhook outbox is the event log itself: an event's row, written in the event's own
/// transaction, is what makes its deliveries owed, and each webhook keeps how far along the
/// log its deliveries have been queued (`webhooks.queued_through`, a workspace seq).
///
/// This queue turns that backlog into delivery rows a few at a time: a webhook gets new rows
/// only while it has fewer than ``depth`` pending, the rows and the webhook's new mark in one
/// transaction (so that each event is queued once, a crash before it leaving the mark, and
/// the events, where they were). A flood of events therefore costs the writer nothing per
/// webhook as it commits; the rows follow as fast as the receivers take them. A delivery's
/// id is derived from its webhook and event (``WebhookDelivery/id(webhookID:eventSeq:)``), so
/// that one listed before it is queued keeps its id.
public final class WebhookQueue: Sendable {
    /// Pending deliveries a webhook may have before its next events wait in the log.
    public static let depth = 16
    /// Events read per webhook and pass when its types pick few of them.
    static let scanLimit = 1024

    private let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    /// A live webhook with events after its mark, and its pending count.
    struct Backlog: Sendable {
        let webhookID: String
        let workspaceID: String
        let types: [String]
        let queuedThrough: Int64
        let pending: Int
    }

    /// What one pass decided for one webhook: its deliveries and its new mark.
    private struct Queued: Sendable {
        let backlog: Backlog
        let events: [Event]
        let through: Int64
    }

    /// Queues what fits for every live webhook behind the log; returns how many deliveries.
    @discardableResult
    public func fill(at now: Timestamp) async throws -> Int {
        let setAside = store.setAside
        let (plans, unreadable) = try await store.reader.read { db -> ([Queued], [(String, String)]) in
            var plans: [Queued] = []
            var unreadable: [(String, String)] = []
            // A webhook whose types do not read wants nothing until repaired: its mark stays.
            for backlog in try Self.backlogs(db, setAside: setAside) where backlog.pending < Self.depth && !backlog.types.isEmpty {
                let room = Self.depth - backlog.pending
                let everything = backlog.types.contains("*")
                let limit = everything ? room : Self.scanLimit
                let read = try EventLog.events(db, workspaceID: backlog.workspaceID, run: nil, after: backlog.queuedThrough, limit: limit)
                unreadable += read.unreadable.map { ("\(backlog.workspaceID)/\($0.0)", $0.1) }
                var picked: [Event] = []
                var through = backlog.queuedThrough
                for event in read.events {
                    if picked.count == room { break }
                    if WebhookRecord.wants(backlog.types, event.type) { picked.append(event) }
                    through = event.seq
                }
                // Read to the end of the log with room to spare: every seq up to the head was seen
                // (an unreadable row's among them, set aside).
                if read.events.count < limit, picked.count < room { through = max(through, try EventLog.lastSeq(db, workspaceID: backlog.workspaceID)) }
                if through > backlog.queuedThrough { plans.append(Queued(backlog: backlog, events: picked, through: through)) }
            }
            return (plans, unreadable)
        }
        for (id, reason) in unreadable { setAside.record(kind: "event", id: id, reason: reason) }
        guard !plans.isEmpty else { return 0 }
        return try await store.journal.commit(.system) { db -> Int in
            var queued = 0
            for plan in plans {
                // The mark moves only from where this pass read it, and only for a live webhook.
                try db.execute("UPDATE webhooks SET queued_through = ? WHERE id = ? AND queued_through = ? AND deleted_at IS NULL",
                               [.integer(plan.through), .text(plan.backlog.webhookID), .integer(plan.backlog.queuedThrough)])
                guard db.changes > 0 else { continue }
                for event in plan.events {
                    try db.execute("""
                        INSERT OR IGNORE INTO webhook_deliveries
                            (id, workspace_id, webhook_id, event_seq, event_id, event_type, status, attempts, next_attempt_at, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, 'pending', CAST('[]' AS BLOB), ?, ?)
                        """, [.text(WebhookDelivery.id(webhookID: plan.backlog.webhookID, eventSeq: event.seq)), .text(event.workspaceID),
                              .text(plan.backlog.webhookID), .integer(event.seq), .text(event.id), .text(event.type.rawValue),
                              .integer(now.microsecondsSinceEpoch), .integer(event.createdAt.microsecondsSinceEpoch)])
                    queued += db.changes
                }
            }
            return queued
        }
    }

    /// Live webhooks whose mark is behind their workspace's last event. The pending count is
    /// read from the partial index by name: left to itself the planner walks the primary key,
    /// every delivery the webhook ever had.
    static func backlogs(_ db: Database, setAside: SetAsideRecords) throws -> [Backlog] {
        try db.query("""
            SELECT w.id, w.workspace_id, w.events, w.queued_through,
                   (SELECT count(*) FROM webhook_deliveries d INDEXED BY deliveries_pending WHERE d.webhook_id = w.id AND d.status = 'pending')
            FROM webhooks w
            WHERE w.deleted_at IS NULL
              AND w.queued_through < coalesce((SELECT e.last_seq FROM event_rows e WHERE e.workspace_id = w.workspace_id ORDER BY e.last_seq DESC LIMIT 1), 0)
            """) { row in
            let id = row.string(at: 0) ?? ""
            return Backlog(webhookID: id, workspaceID: row.string(at: 1) ?? "",
                           types: WebhookOutbox.eventTypes(row.string(at: 2), webhookID: id, setAside: setAside),
                           queuedThrough: row.int64(at: 3), pending: Int(row.int64(at: 4)))
        }
    }
}
