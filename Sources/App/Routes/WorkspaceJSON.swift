import TroupeActors
import TroupeCore

/// A workspace as the API shows it, with its plan's limits as this server sets them.
struct WorkspaceJSON: Sendable {
    let plans: [Plan: PlanLimits]

    func json(id: String, state: TenantState) -> JSON {
        json(id: id, name: state.name, plan: state.plan, createdAt: state.createdAt)
    }

    func json(id: String, name: String, plan: Plan, createdAt: Timestamp) -> JSON {
        ["id": .string(id), "name": .string(name), "plan": .string(plan.rawValue), "created_at": .string(createdAt.rfc3339),
         "limits": Self.limits(plans[plan] ?? PlanLimits())]
    }

    static func limits(_ limits: PlanLimits) -> JSON {
        func value(_ limit: Int?) -> JSON { limit.map { .int(Int64($0)) } ?? .null }
        return ["requests_per_minute": value(limits.requestsPerMinute), "requests_per_day": value(limits.requestsPerDay),
                "active_runs": value(limits.activeRuns), "sandboxes": value(limits.sandboxes),
                "schedules": value(limits.schedules)]
    }
}
