import TroupeActors
import TroupeCore
import TroupeTransport

/// Runs: create, list, read, act on (approve, reject, cancel, retry), budgets, cost.
struct RunRoutes: RouteGroup {
    let gate: RouteGate
    let runtime: TroupeRuntime
    let workflows: WorkflowStore
    let cursors: PageCursor.Codec

    enum Environment: String, CaseIterable { case preview, staging, production }

    /// What `POST /v1/runs/{id}/{action}` asks of a run.
    enum Action: String, CaseIterable {
        case approve, reject, cancel, retry
    }

    static let maxMetadataBytes = 16 * 1024

    func add(to router: inout Router) {
        router.post("/v1/runs", gate.authenticated("/v1/runs", creates: .requiring(.member, orScope: .runsWrite)) { [self] request in try await createRun(request) })
        router.get("/v1/runs", gate.authenticated("/v1/runs") { [self] request in try await listRuns(request) })
        router.get("/v1/runs/{id}", gate.authenticated("/v1/runs/{id}") { [self] request in
            try request.caller.require(.viewer, orScope: .runsRead)
            let id = request.parameter("id")
            let rendered = try await runtime.runService.rendered(of: id, in: try request.caller.workspaceID) { RunJSON.run(id: $0, $1).bytes }
            guard let rendered else { throw APIError.notFound("Run", id) }
            return .json(200, rendered)
        })
        router.get("/v1/runs/{id}/lifecycle", gate.authenticated("/v1/runs/{id}/lifecycle") { [self] request in
            Self.json(200, RunJSON.lifecycle(try await ownRun(request).state))
        })
        router.get("/v1/runs/{id}/costs", gate.authenticated("/v1/runs/{id}/costs") { [self] request in
            Self.json(200, RunJSON.costs(try await ownRun(request).state))
        })
        router.add("PUT", "/v1/runs/{id}/budget", gate.authenticated("/v1/runs/{id}/budget") { [self] request in try await putBudget(request) })
        for action in Action.allCases {
            let pattern = "/v1/runs/{id}/\(action.rawValue)"
            router.post(pattern, gate.authenticated(pattern) { [self] request in try await act(action, request) })
        }
    }

    private func createRun(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .runsWrite)
        let workspaceID = try request.caller.workspaceID
        var body = try JSONBody(request.http, allowed: ["workflow", "input", "ticket", "env", "dry_run", "metadata", "budget"])
        let workflowName = try body.string("workflow", required: true, maxLength: 64)
        let ticket = try body.string("ticket", maxLength: 128)
        let env = try body.choice("env", as: Environment.self)
        let input = try Self.object(body.raw("input"), field: "input")
        if input.bytes.count > WorkflowParser.maxInputBytes { body.problem("input", "input must be at most 64 KiB of JSON.") }
        let metadata = try Self.object(body.raw("metadata"), field: "metadata")
        if metadata.bytes.count > Self.maxMetadataBytes { body.problem("metadata", "metadata must be at most 16 KiB.") }
        for member in metadata.objectValue ?? JSONObject() where member.value.stringValue == nil {
            body.problem("metadata.\(member.key)", "metadata values must be strings.")
        }
        guard body.raw("dry_run").map({ $0 == true || $0 == false || $0.isNull }) ?? true else {
            throw APIError(.invalidRequest, "dry_run must be a boolean.")
        }
        let dryRun = body.raw("dry_run") == true
        let budget = try Self.budget(body.raw("budget"), into: &body)
        var workflow: WorkflowRecord?
        if let workflowName {
            workflow = try await workflows.workflow(workspaceID: workspaceID, idOrSlug: workflowName)
            if workflow == nil { body.problem("workflow", "No workflow \(workflowName) exists in this workspace.") }
        }
        try body.finish()
        guard let workflow else { throw APIError(.internalError, "validated fields missing") }
        try request.caller.requireSandboxAccess(for: workflow.steps)
        // The answer is the run as created, `queued` (or `planned`): it starts right after, in
        // the same transaction, so a GET shows it running. Under an Idempotency-Key that answer
        // commits with the run.
        let start = StartRun(workflow: workflow, ticket: ticket, env: env?.rawValue, input: input, metadata: metadata, dryRun: dryRun,
                             budget: budget, createdBy: Self.creator(try request.caller))
        let prepared = runtime.runService.prepare(start, in: workspaceID)
        request.audit?.setTarget(prepared.id)
        let created = Self.json(201, RunJSON.run(id: prepared.id, prepared.state))
        try await runtime.runService.start(prepared, origin: request.origin(answering: created))
        return created
    }

    /// The run of the path, readable by the caller; another workspace's is 404.
    private func ownRun(_ request: APIRequest) async throws -> (id: String, state: RunState) {
        try request.caller.require(.viewer, orScope: .runsRead)
        let id = request.parameter("id")
        guard let state = try await runtime.runService.state(of: id, in: try request.caller.workspaceID) else { throw APIError.notFound("Run", id) }
        return (id, state)
    }

    private func listRuns(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .runsRead)
        let workspaceID = try request.caller.workspaceID
        var filter = RunListing.Filter()
        if let status = request.query["status"] {
            guard let parsed = RunStatus(rawValue: status) else {
                throw APIError(.invalidRequest, "status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            filter.status = parsed
        }
        filter.workflow = request.query["workflow"]
        filter.scheduleID = request.query["schedule_id"]
        for (name, assign) in [("created_after", \RunListing.Filter.createdAfter), ("created_before", \RunListing.Filter.createdBefore)] {
            guard let text = request.query[name] else { continue }
            guard let time = Timestamp(rfc3339: text) else { throw APIError(.invalidRequest, "\(name) must be an RFC 3339 time.") }
            filter[keyPath: assign] = time
        }
        let scope = "runs:\(workspaceID):\(filter.status?.rawValue ?? ""):\(filter.workflow ?? ""):\(filter.scheduleID ?? ""):\(request.query["created_after"] ?? ""):\(request.query["created_before"] ?? "")"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await runtime.runService.list(in: workspaceID, filter: filter, after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.state.createdAt.microsecondsSinceEpoch, id: $0.id) }, render: { RunJSON.run(id: $0.id, $0.state) }))
    }

    /// approve / reject `{note?}`, cancel, retry `{from_step_id?}`.
    private func act(_ action: Action, _ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .runsWrite)
        let id = request.parameter("id")
        let event: RunMachine.Event
        switch action {
        case .approve, .reject:
            var body = try JSONBody(request.http, allowed: ["note"])
            let note = try body.string("note", maxLength: 4096)
            request.audit?.setNote(note)
            try body.finish()
            // A key approves as a member: approval steps are for people unless they list member.
            let role: Role = if case .user(_, let role) = try request.caller.kind { role } else { .member }
            event = action == .approve ? .approve(role: role, note: note) : .reject(role: role, note: note)
        case .retry:
            var body = try JSONBody(request.http, allowed: ["from_step_id"])
            let from = try body.string("from_step_id", maxLength: 64)
            try body.finish()
            event = .retry(fromStepID: from)
        case .cancel:
            _ = try JSONBody(request.http, allowed: [])
            event = .cancel
        }
        guard let state = try await runtime.runService.act(event, on: id, in: try request.caller.workspaceID, origin: request.origin) else {
            throw APIError.notFound("Run", id)
        }
        return Self.json(action == .retry ? 202 : 200, RunJSON.run(id: id, state))
    }

    /// `{max_cost_usd?, token_budget?}`: a run already past the new budget fails at once.
    private func putBudget(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .runsWrite)
        let id = request.parameter("id")
        var body = try JSONBody(request.http, allowed: ["max_cost_usd", "token_budget"])
        let fields = try Self.budget(body.has("max_cost_usd") || body.has("token_budget") ? .object(JSONObject([
            ("max_cost_usd", body.raw("max_cost_usd")), ("token_budget", body.raw("token_budget")),
        ].compactMap { key, value in value.map { (key, $0) } })) : nil, prefix: "", into: &body) ?? JSONObject()
        try body.finish()
        guard let state = try await runtime.runService.setBudget(fields, of: id, in: try request.caller.workspaceID, origin: request.origin) else {
            throw APIError.notFound("Run", id)
        }
        return Self.json(200, RunJSON.run(id: id, state))
    }

    static func creator(_ caller: Principal) -> JSON {
        switch caller.kind {
        case .user(let id, _): ["type": "user", "id": .string(id)]
        case .apiKey(let id, _): ["type": "api_key", "id": .string(id)]
        }
    }

    static func object(_ json: JSON?, field: String) throws(APIError) -> JSON {
        guard let json, !json.isNull else { return .object(JSONObject()) }
        guard json.objectValue != nil else { throw APIError(.invalidRequest, "\(field) must be an object.") }
        return json
    }

    /// The bounds of a run's budget: a cost cap from 0 to 10^9 dollars, a token budget from 0
    /// to 10^18 tokens (past any sum of reported usage a run can reach).
    static let maxBudgetCostUSD = 1_000_000_000.0
    static let maxTokenBudget: Int64 = 1_000_000_000_000_000_000

    /// `budget: {max_cost_usd?, token_budget?}`, each within its bound or null; `prefix` is how
    /// a field error names the field (`budget.` in a run creation, nothing in PUT budget).
    private static func budget(_ json: JSON?, prefix: String = "budget.", into body: inout JSONBody) throws(APIError) -> JSONObject? {
        guard let json, !json.isNull else { return nil }
        guard let object = json.objectValue else { throw APIError(.invalidRequest, "budget must be an object.") }
        return try body.numbers(object, bounds: ["max_cost_usd": .number(0...maxBudgetCostUSD), "token_budget": .integer(0...maxTokenBudget)],
                                prefix: prefix, nullable: true)
    }
}
