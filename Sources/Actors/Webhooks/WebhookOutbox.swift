import Synchronization
import TroupeCore
import TroupePersistence

/// What the ``Journal`` tells the webhook dispatcher: which workspaces have live webhooks (in
/// memory, so that a change in a workspace without any costs nothing), and a ring of
/// ``doorbell`` once a change with events in one of them is committed. The outbox itself is
/// the event log (``WebhookQueue``): the journal writes no row for webhooks.
public final class WebhookOutbox: Sendable {
    /// Workspaces with live webhooks, by count.
    private let live = Mutex<[String: Int]>([:])
    /// Rung after a commit with events for a workspace with webhooks.
    public let doorbell = Doorbell()

    public init() {}

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

    /// `events` were committed: rings when one of them is for a workspace with webhooks.
    func committed(_ events: [Event]) {
        var last: String?
        for event in events where event.workspaceID != last {
            if hasWebhooks(event.workspaceID) {
                doorbell.ring()
                return
            }
            last = event.workspaceID
        }
    }
}
