import TroupeCore

/// A registered webhook: where a workspace's events of the given types are delivered. Its
/// secret is kept as the server sealed it (``WebhookStore`` never sees it in the clear).
public struct WebhookRecord: Sendable, Equatable {
    public let id: String
    public let workspaceID: String
    public let url: String
    /// Event types delivered, or `["*"]` for all.
    public let events: [String]
    public let description: String?
    public let sealedSecret: [UInt8]
    public let createdAt: Timestamp

    public init(id: String, workspaceID: String, url: String, events: [String], description: String?, sealedSecret: [UInt8], createdAt: Timestamp) {
        self.id = id
        self.workspaceID = workspaceID
        self.url = url
        self.events = events
        self.description = description
        self.sealedSecret = sealedSecret
        self.createdAt = createdAt
    }

    /// Whether a webhook of event types `types` wants events of `type`.
    static func wants(_ types: [String], _ type: EventType) -> Bool { types.contains("*") || types.contains(type.rawValue) }

    /// As the API shows it, without its secret.
    public var json: JSON {
        ["id": .string(id), "url": .string(url), "events": .array(events.map(JSON.string)),
         "description": description.map(JSON.string) ?? .null, "created_at": .string(createdAt.rfc3339)]
    }
}

/// One event's delivery to one webhook (API.md): owed from the event's commit, queued as a row
/// by ``WebhookQueue`` when its webhook has room.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable { case pending, succeeded, failed }

    public let id: String
    public let webhookID: String
    public let eventID: String
    public let eventType: String
    public let eventSeq: Int64
    public let status: Status
    /// `[{at, status_code, error, duration_ms}]`.
    public let attempts: JSON
    public let nextAttemptAt: Timestamp?
    public let createdAt: Timestamp

    public init(id: String, webhookID: String, eventID: String, eventType: String, eventSeq: Int64, status: Status, attempts: JSON,
                nextAttemptAt: Timestamp?, createdAt: Timestamp) {
        self.id = id
        self.webhookID = webhookID
        self.eventID = eventID
        self.eventType = eventType
        self.eventSeq = eventSeq
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
    }

    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    /// The id of `webhookID`'s delivery of its workspace's event `eventSeq`: `dlv_` and 20
    /// base-36 digits of their SHA-256, the shape of a random id, the same before and after the
    /// delivery is queued.
    public static func id(webhookID: String, eventSeq: Int64) -> String {
        let digest = SHA256.hash(webhookID + ":" + String(eventSeq))
        var id = Array("dlv_".utf8)
        for (start, digits) in [(0, 12), (8, 8)] {
            var value = digest[start..<start + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            for _ in 0..<digits {
                id.append(alphabet[Int(value % 36)])
                value /= 36
            }
        }
        return String(decoding: id, as: UTF8.self)
    }

    public var json: JSON {
        ["id": .string(id), "webhook_id": .string(webhookID), "event_id": .string(eventID), "event_type": .string(eventType),
         "status": .string(status.rawValue), "attempts": attempts, "next_attempt_at": nextAttemptAt.map { .string($0.rfc3339) } ?? .null,
         "created_at": .string(createdAt.rfc3339)]
    }
}
