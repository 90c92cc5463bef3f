import TroupeCore

/// One entry of a workspace's durable event log: `seq` counts the workspace's events from 1
/// with no gap, in commit order.
public struct Event: Sendable, Equatable {
    public let id: String
    public let seq: Int64
    public let type: EventType
    public let workspaceID: String
    public let runID: String?
    public let data: JSON
    /// ``data`` as stored: encoded once, where the event was drafted, off the writer's thread.
    public let encodedData: [UInt8]
    public let createdAt: Timestamp

    public init(id: String, seq: Int64, type: EventType, workspaceID: String, runID: String?, data: JSON, createdAt: Timestamp) {
        self.init(id: id, seq: seq, type: type, workspaceID: workspaceID, runID: runID, data: data, encodedData: data.bytes, createdAt: createdAt)
    }

    init(id: String, seq: Int64, type: EventType, workspaceID: String, runID: String?, data: JSON, encodedData: [UInt8], createdAt: Timestamp) {
        self.id = id
        self.seq = seq
        self.type = type
        self.workspaceID = workspaceID
        self.runID = runID
        self.data = data
        self.encodedData = encodedData
        self.createdAt = createdAt
    }

    /// The event as the API shows it: `{id, seq, type, workspace_id, run_id, data, created_at}`.
    public var json: JSON {
        [
            "id": .string(id), "seq": .int(seq), "type": .string(type.rawValue), "workspace_id": .string(workspaceID),
            "run_id": runID.map(JSON.string) ?? .null, "data": data, "created_at": .string(createdAt.rfc3339),
        ]
    }

    /// ``json`` as bytes, put together around the encoded data rather than written again from
    /// the tree: a stream writes each event once per subscriber.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encodedData.count + 160)
        bytes += #"{"id":"#.utf8
        bytes += JSON.string(id).bytes
        bytes += #","seq":"#.utf8
        bytes += String(seq).utf8
        bytes += #","type":""#.utf8
        bytes += type.rawValue.utf8
        bytes += #"","workspace_id":"#.utf8
        bytes += JSON.string(workspaceID).bytes
        bytes += #","run_id":"#.utf8
        bytes += runID.map { JSON.string($0).bytes } ?? Array("null".utf8)
        bytes += #","data":"#.utf8
        bytes += encodedData
        bytes += #","created_at":""#.utf8
        createdAt.appendRFC3339(to: &bytes)
        bytes += #""}"#.utf8
        return bytes
    }
}

/// An event a change causes, before the journal numbers it. Its id and its data's encoding are
/// made here, where the change is decided, so that the writer's thread only numbers and
/// inserts it.
public struct EventDraft: Sendable, Equatable {
    public let id: String
    public let type: EventType
    public let workspaceID: String
    public let runID: String?
    /// When the run of `runID` was created: a run's events are indexed under it, so that a new
    /// run's entries append at the end of the index instead of landing on a random page.
    public let runCreatedAt: Timestamp?
    public let data: JSON
    let encodedData: [UInt8]

    public init(_ type: EventType, workspaceID: String, runID: String?, runCreatedAt: Timestamp?, data: JSON) {
        // An event is found by its workspace and seq; its id names it to clients and grants
        // nothing, so it is made as request ids are, without a call into the kernel's CSPRNG.
        id = CorrelationID.make(prefix: "evt")
        self.type = type
        self.workspaceID = workspaceID
        self.runID = runID
        self.runCreatedAt = runCreatedAt
        self.data = data
        encodedData = data.bytes
    }
}
