/// What the audit chain records for a change route (API.md, "Audit log"): its event, the type
/// of its target, and the path parameter naming the target (nil where the handler names it:
/// what it creates, a lock's key, an invitation).
///
/// Routes that change nothing a person would audit — claiming a job, a heartbeat, a session's
/// switch of workspace, validating a workflow — are not listed and leave no entry.
struct AuditedRoute: Sendable, Equatable {
    let event: String
    let targetType: String
    let targetParameter: String?

    /// An attempt to change that was refused with 403, or 404 (whether the target is absent or
    /// another workspace's: the caller reads its own log, so the entry never tells them apart).
    static let deniedEvent = "access.denied"

    /// The route `method pattern`'s audit, if it is a change route.
    static func of(_ method: String, _ pattern: String) -> AuditedRoute? {
        table["\(method) \(pattern)"]
    }

    private static let table: [String: AuditedRoute] = {
        var table: [String: AuditedRoute] = [:]
        func add(_ method: String, _ pattern: String, _ event: String, _ targetType: String, _ parameter: String? = "id") {
            table["\(method) \(pattern)"] = AuditedRoute(event: event, targetType: targetType, targetParameter: parameter)
        }
        add("POST", "/v1/runs", "run.created", "run", nil)
        for (action, event) in [("approve", "approved"), ("reject", "rejected"), ("cancel", "cancelled"), ("retry", "retried")] {
            add("POST", "/v1/runs/{id}/\(action)", "run.\(event)", "run")
        }
        add("PUT", "/v1/runs/{id}/budget", "run.budget_changed", "run")
        add("POST", "/v1/jobs", "job.created", "job", nil)
        add("POST", "/v1/jobs/{id}/complete", "job.completed", "job")
        add("POST", "/v1/jobs/{id}/fail", "job.failed", "job")
        add("POST", "/v1/dlq/{id}/retry", "job.retried", "job")
        add("DELETE", "/v1/dlq/{id}", "job.deleted", "job")
        add("POST", "/v1/workflows", "workflow.created", "workflow", nil)
        add("POST", "/v1/workflows/from-template/{slug}", "workflow.created", "workflow", nil)
        add("PUT", "/v1/workflows/{id}", "workflow.updated", "workflow")
        add("DELETE", "/v1/workflows/{id}", "workflow.deleted", "workflow")
        add("POST", "/v1/locks/acquire", "lock.acquired", "lock", nil)
        add("POST", "/v1/locks/renew", "lock.renewed", "lock", nil)
        add("POST", "/v1/locks/release", "lock.released", "lock", nil)
        add("POST", "/v1/workspaces/{id}/members", "member.invited", "invitation", nil)
        add("PATCH", "/v1/workspaces/{id}/members/{user_id}", "member.role_changed", "user", "user_id")
        add("DELETE", "/v1/workspaces/{id}/members/{user_id}", "member.removed", "user", "user_id")
        add("POST", "/v1/invitations/accept", "member.joined", "user", nil)
        add("POST", "/v1/api-keys", "api_key.created", "api_key", nil)
        add("POST", "/v1/api-keys/{id}/disable", "api_key.disabled", "api_key")
        add("POST", "/v1/api-keys/{id}/enable", "api_key.enabled", "api_key")
        add("DELETE", "/v1/api-keys/{id}", "api_key.revoked", "api_key")
        add("POST", "/v1/webhooks", "webhook.created", "webhook", nil)
        add("DELETE", "/v1/webhooks/{id}", "webhook.deleted", "webhook")
        add("POST", "/v1/sandboxes", "sandbox.created", "sandbox", nil)
        add("POST", "/v1/sandboxes/{id}/exec", "sandbox.exec", "sandbox")
        add("DELETE", "/v1/sandboxes/{id}", "sandbox.deleted", "sandbox")
        add("POST", "/v1/schedules", "schedule.created", "schedule", nil)
        add("PATCH", "/v1/schedules/{id}", "schedule.updated", "schedule")
        add("POST", "/v1/schedules/{id}/pause", "schedule.paused", "schedule")
        add("POST", "/v1/schedules/{id}/unpause", "schedule.unpaused", "schedule")
        add("POST", "/v1/schedules/{id}/trigger", "schedule.triggered", "schedule")
        add("DELETE", "/v1/schedules/{id}", "schedule.deleted", "schedule")
        add("POST", "/v1/workspaces", "workspace.created", "workspace", nil)
        add("PATCH", "/v1/workspaces/{id}", "workspace.updated", "workspace")
        return table
    }()
}
