/// What an API key may do (API.md's scope list).
public enum Scope: String, Sendable, CaseIterable {
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
    case schedulesRead = "schedules:read"
    case schedulesWrite = "schedules:write"
}
