import TroupeCore

/// A sandbox as stored and shown (API.md, "Sandboxes").
public struct SandboxRecord: Sendable, Equatable {
    /// `provisioning → ready ⇄ busy → terminating → terminated | failed`.
    public enum Status: String, Sendable, CaseIterable {
        case provisioning, ready, busy, terminating, terminated, failed

        /// Terminated or failed: it holds no slot, no directory and no process.
        public var isFinal: Bool { self == .terminated || self == .failed }
    }

    public let id: String
    public let workspaceID: String
    public var status: Status
    public let limits: SandboxLimits
    public let runID: String?
    /// Its place in the uid range (`sandbox_uid_base + slot`), unique among live sandboxes.
    public let slot: Int
    public let createdAt: Timestamp
    public let expiresAt: Timestamp
    public var terminatedAt: Timestamp?
    /// Why it failed, or ended other than by a delete (`expired`, `run finished`, …).
    public var reason: String?
    /// The isolation its commands get, by name (``TroupeSystem/Isolation/names``).
    public let isolation: [String]

    public init(id: String, workspaceID: String, status: Status, limits: SandboxLimits, runID: String?, slot: Int,
                createdAt: Timestamp, expiresAt: Timestamp, terminatedAt: Timestamp? = nil, reason: String? = nil,
                isolation: [String]) {
        self.id = id
        self.workspaceID = workspaceID
        self.status = status
        self.limits = limits
        self.runID = runID
        self.slot = slot
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.terminatedAt = terminatedAt
        self.reason = reason
        self.isolation = isolation
    }

    public var json: JSON {
        .object(JSONObject([
            ("id", .string(id)), ("status", .string(status.rawValue)), ("runtime", .string("process")),
            ("resource_limits", limits.json), ("run_id", runID.map(JSON.string) ?? .null),
            ("isolation", .array(isolation.map(JSON.string))),
            ("created_at", .string(createdAt.rfc3339)), ("expires_at", .string(expiresAt.rfc3339)),
            ("terminated_at", terminatedAt.map { .string($0.rfc3339) } ?? .null),
            ("reason", reason.map(JSON.string) ?? .null),
        ]))
    }
}
