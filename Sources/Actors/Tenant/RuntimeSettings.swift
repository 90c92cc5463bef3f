/// The plans in force and the other operator settings the actors need (API.md's table, with
/// config-file overrides applied by the server).
public struct RuntimeSettings: Sendable {
    public var plans: [Plan: PlanLimits]
    /// Each API key's own limit; nil is unlimited.
    public var apiKeyRequestsPerMinute: Int?

    public init(plans: [Plan: PlanLimits] = PlanLimits.defaults, apiKeyRequestsPerMinute: Int? = 600) {
        self.plans = plans
        self.apiKeyRequestsPerMinute = apiKeyRequestsPerMinute
    }

    public func limits(for plan: Plan) -> PlanLimits {
        plans[plan] ?? PlanLimits.defaults[plan] ?? PlanLimits()
    }
}

/// A workspace's plan.
public enum Plan: String, Sendable, CaseIterable, Codable {
    case starter
    case growth
    case enterprise
}

/// What a plan allows; nil is unlimited.
public struct PlanLimits: Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var requestsPerDay: Int?
    public var activeRuns: Int?
    public var sandboxes: Int?
    public var schedules: Int?

    public init(requestsPerMinute: Int? = nil, requestsPerDay: Int? = nil, activeRuns: Int? = nil, sandboxes: Int? = nil, schedules: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.requestsPerDay = requestsPerDay
        self.activeRuns = activeRuns
        self.sandboxes = sandboxes
        self.schedules = schedules
    }

    /// API.md's plan table.
    public static let defaults: [Plan: PlanLimits] = [
        .starter: PlanLimits(requestsPerMinute: 60, requestsPerDay: 5_000, activeRuns: 10, sandboxes: 2, schedules: 5),
        .growth: PlanLimits(requestsPerMinute: 300, requestsPerDay: 100_000, activeRuns: 100, sandboxes: 20, schedules: 100),
        .enterprise: PlanLimits(requestsPerMinute: nil, requestsPerDay: nil, activeRuns: 10_000, sandboxes: 200, schedules: 1_000),
    ]
}
