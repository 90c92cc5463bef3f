import TroupeCore

/// A member's role in a workspace was set (joined, changed) or cleared (removed) at a time.
public struct MembershipChange: Sendable, Equatable {
    public let workspaceID: String
    public let userID: String
    /// The role held from then on; nil once removed.
    public let role: Role?
    public let changedAt: Timestamp

    public init(workspaceID: String, userID: String, role: Role?, changedAt: Timestamp) {
        self.workspaceID = workspaceID
        self.userID = userID
        self.role = role
        self.changedAt = changedAt
    }
}
