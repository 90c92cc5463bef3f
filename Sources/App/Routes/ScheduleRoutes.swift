import TroupeActors
import TroupeCore
import TroupeTransport

/// Schedules (API.md, Schedules): create, list, read, change, pause, unpause, trigger, delete.
/// Parses and renders; ``ScheduleService`` does the rest. Reads need `schedules:read` (people:
/// viewers), changes `schedules:write` (people: members).
struct ScheduleRoutes: RouteGroup {
    let gate: RouteGate
    let runtime: TroupeRuntime
    let cursors: PageCursor.Codec
    let clock: any WallClock

    static let fields: Set<String> = ["workflow", "cron", "every_s", "timezone", "input", "metadata", "priority", "overlap_policy",
                                      "catchup_window_s", "jitter_ms", "start_at", "end_at", "paused", "note"]

    func add(to router: inout Router) {
        let member = Creation.requiring(.member, orScope: .schedulesWrite)
        router.post("/v1/schedules", gate.authenticated("/v1/schedules", creates: member) { [self] request in try await create(request) })
        router.get("/v1/schedules", gate.authenticated("/v1/schedules") { [self] request in try await list(request) })
        router.get("/v1/schedules/{id}", gate.authenticated("/v1/schedules/{id}") { [self] request in
            try request.caller.require(.viewer, orScope: .schedulesRead)
            let id = request.parameter("id")
            guard let state = try await runtime.schedules.schedule(id, in: try request.caller.workspaceID) else { throw APIError.notFound("Schedule", id) }
            return Self.json(200, ScheduleJSON.schedule(id: id, state, now: clock.now))
        })
        router.add("PATCH", "/v1/schedules/{id}", gate.authenticated("/v1/schedules/{id}") { [self] request in try await update(request) })
        router.post("/v1/schedules/{id}/pause", gate.authenticated("/v1/schedules/{id}/pause") { [self] request in
            var body = try JSONBody(request.http, allowed: ["note"])
            let note = try body.string("note", maxLength: 1024)
            try body.finish()
            request.audit?.setNote(note)
            return try await change(request, .pause(note: note))
        })
        router.post("/v1/schedules/{id}/unpause", gate.authenticated("/v1/schedules/{id}/unpause") { [self] request in
            _ = try JSONBody(request.http, allowed: [])
            return try await change(request, .unpause)
        })
        router.post("/v1/schedules/{id}/trigger", gate.authenticated("/v1/schedules/{id}/trigger", creates: member) { [self] request in
            try await trigger(request)
        })
        router.add("DELETE", "/v1/schedules/{id}", gate.authenticated("/v1/schedules/{id}") { [self] request in
            _ = try await change(request, .delete)
            return HTTPResponse(status: 204)
        })
    }

    private func create(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .schedulesWrite)
        let workspaceID = try request.caller.workspaceID
        var body = try JSONBody(request.http, allowed: Self.fields)
        guard let settings = try await ScheduleInput(runtime: runtime, workspaceID: workspaceID).settings(from: &body, over: nil) else {
            try body.finish()
            throw APIError(.internalError, "validated fields missing")
        }
        try body.finish()
        if let workflow = try await runtime.workflows.workflow(workspaceID: workspaceID, idOrSlug: settings.workflowID) {
            try request.caller.requireSandboxAccess(for: workflow.steps)
        }
        let cap = try await runtime.tenants.call(workspaceID) { $0.limits.schedules }
        let now = clock.now
        let (id, state) = try await runtime.schedules.create(settings, in: workspaceID, createdBy: RunRoutes.creator(try request.caller),
                                                             cap: cap) { id, state in
            request.audit?.setTarget(id)
            return request.origin(answering: Self.json(201, ScheduleJSON.schedule(id: id, state, now: now)))
        }
        return Self.json(201, ScheduleJSON.schedule(id: id, state, now: now))
    }

    private func list(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .schedulesRead)
        let workspaceID = try request.caller.workspaceID
        let scope = "schedules:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await runtime.schedules.list(in: workspaceID, after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        let now = clock.now
        return Self.json(200, ListPage.json(items, limit: page.limit, codec: cursors, scope: scope,
                                            cursor: { PageCursor(createdAt: $0.state.createdAt.microsecondsSinceEpoch, id: $0.id) },
                                            render: { ScheduleJSON.schedule(id: $0.id, $0.state, now: now) }))
    }

    /// Any field of the create; fire times recomputed from now.
    private func update(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .schedulesWrite)
        let workspaceID = try request.caller.workspaceID
        let id = request.parameter("id")
        guard let current = try await runtime.schedules.schedule(id, in: workspaceID) else { throw APIError.notFound("Schedule", id) }
        var body = try JSONBody(request.http, allowed: Self.fields)
        let settings = try await ScheduleInput(runtime: runtime, workspaceID: workspaceID).settings(from: &body, over: current.settings)
        try body.finish()
        guard let settings else { throw APIError(.internalError, "validated fields missing") }
        if settings.workflowID != current.settings.workflowID,
            let workflow = try await runtime.workflows.workflow(workspaceID: workspaceID, idOrSlug: settings.workflowID) {
            try request.caller.requireSandboxAccess(for: workflow.steps)
        }
        return try await change(request, .update(settings))
    }

    /// Applies `change` to the path's schedule; 200 with the schedule.
    private func change(_ request: APIRequest, _ change: ScheduleService.Edit) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .schedulesWrite)
        let id = request.parameter("id")
        guard let state = try await runtime.schedules.change(id, in: try request.caller.workspaceID, change, origin: request.origin) else {
            throw APIError.notFound("Schedule", id)
        }
        return Self.json(200, ScheduleJSON.schedule(id: id, state, now: clock.now))
    }

    /// `{overlap_policy?}`: 201 with the run started now.
    private func trigger(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .schedulesWrite)
        let workspaceID = try request.caller.workspaceID
        let id = request.parameter("id")
        var body = try JSONBody(request.http, allowed: ["overlap_policy"])
        let policy = try body.choice("overlap_policy", as: ScheduleState.OverlapPolicy.self)
        try body.finish()
        guard let current = try await runtime.schedules.schedule(id, in: workspaceID) else { throw APIError.notFound("Schedule", id) }
        if let workflow = try await runtime.workflows.workflow(workspaceID: workspaceID, idOrSlug: current.settings.workflowID) {
            try request.caller.requireSandboxAccess(for: workflow.steps)
        }
        let started = try await runtime.schedules.trigger(id, in: workspaceID, policy: policy) { runID, run in
            request.origin(answering: Self.json(201, RunJSON.run(id: runID, run)))
        }
        guard let started else { throw APIError.notFound("Schedule", id) }
        return Self.json(201, RunJSON.run(id: started.id, started.state))
    }
}
