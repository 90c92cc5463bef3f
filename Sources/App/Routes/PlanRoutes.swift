import TroupeActors
import TroupeCore
import TroupeTransport

/// Plans and the workspace's usage.
struct PlanRoutes: RouteGroup {
    let gate: RouteGate
    let runtime: TroupeRuntime
    let members: MemberStore
    let usage: UsageStore
    let config: ServerConfig
    let clock: any WallClock

    func add(to router: inout Router) {
        router.get("/v1/plans", gate.open("/v1/plans") { [self] _ in
            let plans = Plan.allCases.map { plan -> JSON in
                let limits = config.plans[plan] ?? PlanLimits()
                guard case .object(var object) = WorkspaceJSON.limits(limits) else { return .null }
                object = JSONObject([("name", .string(plan.rawValue))] + object.members.map { ($0.key, $0.value) })
                return .object(object)
            }
            return Self.json(200, ["data": .array(plans), "next_cursor": .null, "has_more": false])
        })
        router.get("/v1/usage", gate.authenticated("/v1/usage") { [self] request in try await usageReport(request) })
    }

    private func usageReport(_ request: APIRequest) async throws -> HTTPResponse {
        let caller = try request.caller
        try caller.require(.viewer, orScope: .usageRead)
        let today = UsageStore.day(clock.now)
        let from = try Self.day(request.query["from"], name: "from") ?? today
        let to = try Self.day(request.query["to"], name: "to") ?? today
        guard from <= to else { throw APIError(.invalidRequest, "from must not be after to.") }
        guard let start = Timestamp(rfc3339: from + "T00:00:00.000Z"), let end = Timestamp(rfc3339: to + "T00:00:00.000Z") else {
            throw APIError(.invalidRequest, "from and to must be dates such as 2026-05-19.")
        }
        if end - start >= .seconds(Self.maxUsageDays * 86_400) {
            throw APIError.validation([.init(field: "to", message: "A usage period covers at most \(Self.maxUsageDays) days: to must be within 365 days of from.")])
        }
        let requests = try await usage.requests(workspaceID: caller.workspaceID, from: from, to: to)
        let totals = try await WorkloadUsage(store: runtime.store).totals(workspaceID: caller.workspaceID, from: from, to: to)
        let byWorkflow = totals.byWorkflow.sorted { $0.key < $1.key }.map { slug, value in
            (slug, JSON.object(JSONObject([("runs", .int(value.runs)), ("cost_usd", .double(value.costUSD))])))
        }
        return Self.json(200, .object(JSONObject([
            ("from", .string(from)), ("to", .string(to)), ("requests", .int(Int64(requests))), ("runs_created", .int(totals.runsCreated)),
            ("jobs_completed", .int(totals.jobsCompleted)), ("input_tokens", .int(totals.inputTokens)),
            ("output_tokens", .int(totals.outputTokens)), ("cost_usd", .double(totals.costUSD)), ("by_workflow", .object(JSONObject(byWorkflow))),
        ])))
    }

    /// The widest usage period, in days (API.md).
    static let maxUsageDays: Int64 = 366

    /// A `YYYY-MM-DD` or RFC 3339 query value as its UTC day.
    private static func day(_ text: String?, name: String) throws(APIError) -> String? {
        guard let text else { return nil }
        if let stamp = Timestamp(rfc3339: text) ?? Timestamp(rfc3339: text + "T00:00:00Z") { return UsageStore.day(stamp) }
        throw APIError(.invalidRequest, "\(name) must be a date (2026-05-19) or an RFC 3339 time.")
    }
}
