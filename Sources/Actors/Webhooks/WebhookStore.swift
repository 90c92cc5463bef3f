import TroupeCore
import TroupePersistence

/// Webhooks and their deliveries (API.md, "Events and webhooks"): registrations, and a
/// delivery per matching event committed after a webhook's creation. The event's row in the
/// log, written in the event's own transaction, is the outbox: a committed event is never
/// without its deliveries and a crash loses none. ``WebhookQueue`` turns the log into delivery
/// rows as each webhook has room; a list shows the events not yet queued as pending too.
///
/// This store keeps the registrations and tells the journal's ``WebhookOutbox`` which
/// workspaces have any. A webhook's deliveries are keyed by it and their event's seq: a new
/// one appends to its webhook's range, and a list is that range, newest first.
public final class WebhookStore: Sendable {
    public static let migrations = [
        Migration("webhooks-1", sql: """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                description TEXT,
                secret BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                deleted_at INTEGER
            ) WITHOUT ROWID;
            CREATE INDEX webhooks_live ON webhooks (workspace_id, created_at, id) WHERE deleted_at IS NULL;
            CREATE TABLE webhook_deliveries (
                webhook_id TEXT NOT NULL,
                event_seq INTEGER NOT NULL,
                id TEXT NOT NULL,
                workspace_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BLOB NOT NULL,
                next_attempt_at INTEGER,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (webhook_id, event_seq)
            ) WITHOUT ROWID;
            CREATE INDEX deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
            """),
        // Deliveries were written with their events until now: each webhook is queued to its
        // workspace's last event.
        Migration("webhooks-2-queued-through", sql: """
            ALTER TABLE webhooks ADD COLUMN queued_through INTEGER NOT NULL DEFAULT 0;
            UPDATE webhooks SET queued_through = coalesce(
                (SELECT e.last_seq FROM event_rows e WHERE e.workspace_id = webhooks.workspace_id ORDER BY e.last_seq DESC LIMIT 1), 0);
            CREATE INDEX deliveries_pending ON webhook_deliveries (webhook_id, event_seq) WHERE status = 'pending';
            """),
    ]

    private let store: SnapshotStore
    /// Deliveries set aside (their attempts do not read): never due again, so that they do
    /// not fill every page of due ones.
    private let unreadable = LockedBox<Set<String>>([])

    /// Turns the event log into delivery rows as webhooks have room.
    public let queue: WebhookQueue

    /// Rung when a change commits events for a workspace with webhooks.
    public var committedEvents: Doorbell { store.journal.outbox.doorbell }

    public init(store: SnapshotStore) {
        self.store = store
        queue = WebhookQueue(store: store)
    }

    /// Tells the journal's outbox which workspaces have webhooks: once, before serving.
    public func loadDirectory() async throws {
        let store = store
        let counts = try await store.reader.readStatement { db in
            try db.query("SELECT workspace_id, count(*) FROM webhooks WHERE deleted_at IS NULL GROUP BY workspace_id") {
                ($0.string(at: 0) ?? "", Int($0.int64(at: 1)))
            }
        }
        for (workspace, count) in counts { store.journal.outbox.added(count, in: workspace) }
    }

    /// The webhooks a workspace may have at most (API.md): each costs the dispatcher a slot of
    /// work for every event.
    public static let perWorkspaceCap = 20

    /// Stores a webhook; 429 (``AccountRefusal/Code/limitReached``) when the workspace already
    /// has ``perWorkspaceCap``, counted in the same transaction.
    public func create(_ webhook: WebhookRecord, origin: ChangeOrigin) async throws {
        let events = JSON.array(webhook.events.map(JSON.string)).text
        try await store.journal.commit(origin) { db in
            let count = try db.scalar("SELECT count(*) FROM webhooks WHERE workspace_id = ? AND deleted_at IS NULL",
                                      [.text(webhook.workspaceID)])?.integerValue ?? 0
            if count >= Int64(Self.perWorkspaceCap) {
                throw AccountRefusal(.limitReached, "This workspace has \(count) webhooks, the most it may have; delete one first.")
            }
            // Its deliveries start after the workspace's last event so far.
            try db.execute("""
                INSERT INTO webhooks (id, workspace_id, url, events, description, secret, created_at, queued_through) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(webhook.id), .text(webhook.workspaceID), .text(webhook.url), .text(events),
                      webhook.description.map(SQLValue.text) ?? .null, .blob(webhook.sealedSecret), .integer(webhook.createdAt.microsecondsSinceEpoch),
                      .integer(try EventLog.lastSeq(db, workspaceID: webhook.workspaceID))])
        }
        store.journal.outbox.added(1, in: webhook.workspaceID)
    }

    /// Deletes the webhook (its deliveries stay, for the record); false when there is none.
    public func delete(id: String, workspaceID: String, at now: Timestamp, origin: ChangeOrigin) async throws -> Bool {
        let deleted = try await store.journal.commit(origin) { db -> Bool in
            try db.execute("UPDATE webhooks SET deleted_at = ? WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL",
                           [.integer(now.microsecondsSinceEpoch), .text(id), .text(workspaceID)])
            return db.changes > 0
        }
        if deleted { store.journal.outbox.added(-1, in: workspaceID) }
        return deleted
    }

    public func webhook(id: String, workspaceID: String) async throws -> WebhookRecord? {
        try await store.reader.readStatement { db in
            try db.query(Self.columns + " WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL", [.text(id), .text(workspaceID)], row: Self.record).first
        }
    }

    public func webhooks(workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [WebhookRecord] {
        try await store.reader.readStatement { db in
            try db.query(Self.columns + """
                 WHERE workspace_id = ?1 AND deleted_at IS NULL AND (?2 IS NULL OR (created_at, id) < (?2, ?3))
                ORDER BY created_at DESC, id DESC LIMIT ?4
                """, [.text(workspaceID), cursor.map { .integer($0.createdAt) } ?? .null, .text(cursor?.id ?? ""), .integer(Int64(limit))],
                row: Self.record)
        }
    }

    /// The webhook's deliveries before event seq `beforeSeq` (all when nil), newest first: the
    /// events not yet queued (pending, never attempted, due since their event), then the rows.
    public func deliveries(webhookID: String, beforeSeq: Int64?, limit: Int) async throws -> [WebhookDelivery] {
        let (deliveries, unreadable) = try await store.reader.read { db -> ([WebhookDelivery], [(String, String)]) in
            let waiting = try Self.waiting(db, webhookID: webhookID, beforeSeq: beforeSeq, limit: limit)
            let rows = try db.query("""
                SELECT id, webhook_id, event_id, event_type, event_seq, status, attempts, next_attempt_at, created_at FROM webhook_deliveries
                WHERE webhook_id = ?1 AND (?2 IS NULL OR event_seq < ?2) ORDER BY event_seq DESC LIMIT ?3
                """, [.text(webhookID), beforeSeq.map(SQLValue.integer) ?? .null, .integer(Int64(max(0, limit - waiting.deliveries.count)))]) { row in
                WebhookDelivery(id: row.string(at: 0) ?? "", webhookID: row.string(at: 1) ?? "", eventID: row.string(at: 2) ?? "",
                                eventType: row.string(at: 3) ?? "", eventSeq: row.int64(at: 4),
                                status: WebhookDelivery.Status(rawValue: row.string(at: 5) ?? "") ?? .failed,
                                attempts: Self.attempts(row.blob(at: 6)) ?? .null,  // unreadable: shown as null, kept as stored
                                nextAttemptAt: row.isNull(at: 7) ? nil : Timestamp(microsecondsSinceEpoch: row.int64(at: 7)),
                                createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 8)))
            }
            return (waiting.deliveries + rows, waiting.unreadable)
        }
        for (id, reason) in unreadable { store.setAside.record(kind: "event", id: id, reason: reason) }
        return deliveries
    }

    /// Events read per step when a list looks back through a webhook's unqueued events.
    static let listWindow: Int64 = 1024

    /// The live webhook's events after its queue mark and before `beforeSeq`, as the pending
    /// deliveries they are owed, newest first: at most `limit`, looking back at most 8 windows.
    private static func waiting(
        _ db: Database, webhookID: String, beforeSeq: Int64?, limit: Int
    ) throws -> (deliveries: [WebhookDelivery], unreadable: [(String, String)]) {
        guard let hook = try db.query("SELECT workspace_id, events, queued_through FROM webhooks WHERE id = ? AND deleted_at IS NULL",
                                      [.text(webhookID)], row: { ($0.string(at: 0) ?? "", $0.string(at: 1), $0.int64(at: 2)) }).first
        else { return ([], []) }
        let types = WebhookOutbox.eventTypes(hook.1, webhookID: webhookID, setAside: nil)
        var upper = min(beforeSeq.map { $0 - 1 } ?? Int64.max, try EventLog.lastSeq(db, workspaceID: hook.0))
        var found: [WebhookDelivery] = []
        var unreadable: [(String, String)] = []
        var windows = 0
        while upper > hook.2, found.count < limit, windows < 8 {
            let lower = max(hook.2, upper - listWindow)
            let read = try EventLog.events(db, workspaceID: hook.0, run: nil, after: lower, limit: Int(upper - lower))
            unreadable += read.unreadable.map { ("\(hook.0)/\($0.0)", $0.1) }
            for event in read.events.reversed() where event.seq <= upper && found.count < limit && WebhookRecord.wants(types, event.type) {
                found.append(WebhookDelivery(id: WebhookDelivery.id(webhookID: webhookID, eventSeq: event.seq), webhookID: webhookID,
                                             eventID: event.id, eventType: event.type.rawValue, eventSeq: event.seq, status: .pending,
                                             attempts: [], nextAttemptAt: event.createdAt, createdAt: event.createdAt))
            }
            upper = lower
            windows += 1
        }
        return (found, unreadable)
    }

    /// A delivery whose next attempt is due, with what sending it needs.
    public struct Due: Sendable {
        public let delivery: WebhookDelivery
        public let workspaceID: String
        public let url: String
        public let sealedSecret: [UInt8]
        /// The webhook was deleted since: the delivery ends unsent.
        public let webhookDeleted: Bool
    }

    /// Up to `limit` pending deliveries due at `now`, oldest due first. One whose attempts do
    /// not read is reported and left as it is: attempting it would write over its record.
    /// Webhooks in `busy` (those with all their attempts under way) and deliveries in
    /// `inFlight` (attempted now) are left out, and a workspace fills at most `perWorkspace`
    /// of the page: one workspace's backlog never holds another's deliveries back.
    public func due(at now: Timestamp, limit: Int, perWorkspace: Int = 16, busy: Set<String> = [], inFlight: Set<String> = []) async throws -> [Due] {
        let skipped = JSON.array((unreadable.value.union(inFlight)).sorted().map(JSON.string)).text
        let busyList = JSON.array(busy.sorted().map(JSON.string)).text
        let rows = try await store.reader.readStatement { db in
            try db.query("""
                SELECT id, webhook_id, event_id, event_type, event_seq, attempts, next_attempt_at, created_at, workspace_id, url, secret, deleted
                FROM (SELECT d.id, d.webhook_id, d.event_id, d.event_type, d.event_seq, d.attempts, d.next_attempt_at, d.created_at,
                             d.workspace_id, w.url, w.secret, w.deleted_at IS NOT NULL AS deleted,
                             row_number() OVER (PARTITION BY d.workspace_id ORDER BY d.next_attempt_at) AS place
                      FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                      WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.id NOT IN (SELECT value FROM json_each(?))
                        AND d.webhook_id NOT IN (SELECT value FROM json_each(?)))
                WHERE place <= ?
                ORDER BY next_attempt_at LIMIT ?
                """, [.integer(now.microsecondsSinceEpoch), .text(skipped), .text(busyList), .integer(Int64(perWorkspace)),
                      .integer(Int64(limit))]) { row in
                Due(delivery: WebhookDelivery(
                        id: row.string(at: 0) ?? "", webhookID: row.string(at: 1) ?? "", eventID: row.string(at: 2) ?? "",
                        eventType: row.string(at: 3) ?? "", eventSeq: row.int64(at: 4), status: .pending,
                        attempts: Self.attempts(row.blob(at: 5)) ?? .null,
                        nextAttemptAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 6)), createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 7))),
                    workspaceID: row.string(at: 8) ?? "", url: row.string(at: 9) ?? "", sealedSecret: row.blob(at: 10) ?? [],
                    webhookDeleted: row.int64(at: 11) != 0)
            }
        }
        return rows.filter { due in
            guard due.delivery.attempts.isNull else { return true }
            store.setAside.record(kind: "webhook_delivery", id: due.delivery.id, reason: "its attempts are not a JSON array")
            unreadable.withLock { _ = $0.insert(due.delivery.id) }
            return false
        }
    }

    /// A delivery's stored attempts, or nil when they do not read.
    private static func attempts(_ blob: [UInt8]?) -> JSON? {
        do {
            let attempts = try JSON.parse(blob ?? [])
            return attempts.arrayValue == nil ? nil : attempts
        } catch {
            return nil
        }
    }

    /// Records an attempt at `delivery`: its attempts become `attempts`, its status `status`,
    /// and its next attempt `next` (nil once it is no longer pending).
    public func record(_ delivery: WebhookDelivery, attempts: JSON, status: WebhookDelivery.Status, next: Timestamp?) async throws {
        try await store.journal.commit(.system) { db in
            try db.execute("""
                UPDATE webhook_deliveries SET attempts = ?, status = ?, next_attempt_at = ? WHERE webhook_id = ? AND event_seq = ? AND status = 'pending'
                """, [.blob(attempts.bytes), .text(status.rawValue), next.map { .integer($0.microsecondsSinceEpoch) } ?? .null,
                      .text(delivery.webhookID), .integer(delivery.eventSeq)])
        }
    }

    private static let columns = "SELECT id, workspace_id, url, events, description, secret, created_at FROM webhooks"

    private static func record(_ row: Statement) -> WebhookRecord {
        WebhookRecord(id: row.string(at: 0) ?? "", workspaceID: row.string(at: 1) ?? "", url: row.string(at: 2) ?? "",
                      events: WebhookOutbox.eventTypes(row.string(at: 3), webhookID: row.string(at: 0) ?? "", setAside: nil),
                      description: row.string(at: 4), sealedSecret: row.blob(at: 5) ?? [],
                      createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 6)))
    }
}
