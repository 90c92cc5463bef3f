import Synchronization
import TroupeCore
import TroupePersistence

/// The webhook outbox as the ``Journal`` writes it: which workspaces have live webhooks (in
/// memory, so that a change in a workspace without any costs the writer no query), and the
/// pending delivery rows of a change's events, in the change's transaction.
public final class WebhookOutbox: Sendable {
    /// Workspaces with live webhooks, by count.
    private let live = Mutex<[String: Int]>([:])
    private let setAside: SetAsideRecords?

    public init(setAside: SetAsideRecords? = nil) {
        self.setAside = setAside
    }

    /// A webhook's stored event types; one that does not read is reported and wants nothing,
    /// its row kept as it is.
    static func eventTypes(_ text: String?, webhookID: String, setAside: SetAsideRecords?) -> [String] {
        do {
            guard let types = try JSON.parse(Array((text ?? "").utf8)).arrayValue?.compactMap(\.stringValue) else {
                setAside?.record(kind: "webhook", id: webhookID, reason: "its events are not a JSON array")
                return []
            }
            return types
        } catch {
            setAside?.record(kind: "webhook", id: webhookID, reason: "its events are not JSON: \(error)")
            return []
        }
    }

    /// `count` webhooks were added to (negative: removed from) `workspaceID`.
    func added(_ count: Int, in workspaceID: String) {
        live.withLock { table in
            let next = (table[workspaceID] ?? 0) + count
            table[workspaceID] = next > 0 ? next : nil
        }
    }

    /// Whether `workspaceID` has a live webhook.
    func hasWebhooks(_ workspaceID: String) -> Bool { live.withLock { $0[workspaceID] != nil } }

    /// The outbox: a pending delivery per webhook of each event's workspace that wants it, in
    /// the events' transaction; on the writer's thread.
    func enqueue(_ events: [Event], on db: Database, at now: Timestamp) throws {
        var hooks: [String: [(id: String, events: [String])]] = [:]
        for event in events where hasWebhooks(event.workspaceID) {
            let targets = try hooks[event.workspaceID] ?? {
                let found = try db.query("SELECT id, events FROM webhooks WHERE workspace_id = ? AND deleted_at IS NULL", [.text(event.workspaceID)]) { row in
                    (id: row.string(at: 0) ?? "", events: Self.eventTypes(row.string(at: 1), webhookID: row.string(at: 0) ?? "", setAside: setAside))
                }
                hooks[event.workspaceID] = found
                return found
            }()
            for hook in targets where hook.events.contains("*") || hook.events.contains(event.type.rawValue) {
                try db.execute("""
                    INSERT INTO webhook_deliveries (id, workspace_id, webhook_id, event_seq, event_id, event_type, status, attempts, next_attempt_at, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'pending', CAST('[]' AS BLOB), ?, ?)
                    """, [.text(RandomID.make(prefix: "dlv")), .text(event.workspaceID), .text(hook.id), .integer(event.seq), .text(event.id),
                          .text(event.type.rawValue), .integer(now.microsecondsSinceEpoch), .integer(now.microsecondsSinceEpoch)])
            }
        }
    }
}
