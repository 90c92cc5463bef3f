/// A member's role in a workspace, from most to least powerful (API.md).
enum Role: String, Sendable, CaseIterable, Comparable {
    case owner
    case admin
    case member
    case viewer

    private var rank: Int {
        switch self {
        case .owner: 3
        case .admin: 2
        case .member: 1
        case .viewer: 0
        }
    }

    static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// What an API key may do (API.md's scope list).
enum Scope: String, Sendable, CaseIterable {
    case runsRead = "runs:read"
    case runsWrite = "runs:write"
    case workflowsRead = "workflows:read"
    case workflowsWrite = "workflows:write"
    case jobsRead = "jobs:read"
    case jobsWork = "jobs:work"
    case sandboxesRead = "sandboxes:read"
    case sandboxesWrite = "sandboxes:write"
    case auditRead = "audit:read"
    case eventsRead = "events:read"
    case webhooksManage = "webhooks:manage"
    case usageRead = "usage:read"
    case membersRead = "members:read"
}
