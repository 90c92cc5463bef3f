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

    /// Whether events of `type` go to this webhook.
    public func wants(_ type: String) -> Bool { events.contains("*") || events.contains(type) }

    /// As the API shows it, without its secret.
    public var json: JSON {
        ["id": .string(id), "url": .string(url), "events": .array(events.map(JSON.string)),
         "description": description.map(JSON.string) ?? .null, "created_at": .string(createdAt.rfc3339)]
    }
}

/// One event's delivery to one webhook (API.md): written pending in the event's transaction.
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

    public var json: JSON {
        ["id": .string(id), "webhook_id": .string(webhookID), "event_id": .string(eventID), "event_type": .string(eventType),
         "status": .string(status.rawValue), "attempts": attempts, "next_attempt_at": nextAttemptAt.map { .string($0.rfc3339) } ?? .null,
         "created_at": .string(createdAt.rfc3339)]
    }
}
