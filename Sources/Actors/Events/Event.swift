import TroupeCore

/// One entry of a workspace's durable event log: `seq` counts the workspace's events from 1
/// with no gap, in commit order.
///
/// Its JSON is written once, when it is made (``encoded``): a stream fans one event out to
/// every subscriber of its workspace, and encoding it for each cost more than the rest of
/// the delivery (`troupe-bench events`, 1,000 subscribers).
public struct Event: Sendable, Equatable {
    public let id: String
    public let seq: Int64
    public let type: EventType
    public let workspaceID: String
    public let runID: String?
    public let data: JSON
    public let createdAt: Timestamp
    /// ``json`` as bytes.
    public let encoded: [UInt8]

    public init(id: String, seq: Int64, type: EventType, workspaceID: String, runID: String?, data: JSON, createdAt: Timestamp) {
        self.id = id
        self.seq = seq
        self.type = type
        self.workspaceID = workspaceID
        self.runID = runID
        self.data = data
        self.createdAt = createdAt
        encoded = Self.json(id: id, seq: seq, type: type, workspaceID: workspaceID, runID: runID, data: data, createdAt: createdAt).bytes
    }

    public static func == (lhs: Event, rhs: Event) -> Bool {
        lhs.id == rhs.id && lhs.seq == rhs.seq && lhs.type == rhs.type && lhs.workspaceID == rhs.workspaceID && lhs.runID == rhs.runID
            && lhs.data == rhs.data && lhs.createdAt == rhs.createdAt
    }

    /// The event as the API shows it: `{id, seq, type, workspace_id, run_id, data, created_at}`.
    public var json: JSON {
        Self.json(id: id, seq: seq, type: type, workspaceID: workspaceID, runID: runID, data: data, createdAt: createdAt)
    }

    private static func json(
        id: String, seq: Int64, type: EventType, workspaceID: String, runID: String?, data: JSON, createdAt: Timestamp
    ) -> JSON {
        [
            "id": .string(id), "seq": .int(seq), "type": .string(type.rawValue), "workspace_id": .string(workspaceID),
            "run_id": runID.map(JSON.string) ?? .null, "data": data, "created_at": .string(createdAt.rfc3339),
        ]
    }
}

/// An event a change causes, before the journal numbers it.
public struct EventDraft: Sendable, Equatable {
    public let type: EventType
    public let workspaceID: String
    public let runID: String?
    public let data: JSON

    public init(_ type: EventType, workspaceID: String, runID: String?, data: JSON) {
        self.type = type
        self.workspaceID = workspaceID
        self.runID = runID
        self.data = data
    }
}
