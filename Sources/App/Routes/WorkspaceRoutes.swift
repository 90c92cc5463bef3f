import Foundation
import TroupeActors
import TroupeCore
import TroupeTransport

/// Workspaces: create, list, read, rename or change plan, switch the session to one.
struct WorkspaceRoutes: RouteGroup {
    let gate: RouteGate
    let accounts: AccountStore
    let authenticator: Authenticator
    let runtime: TroupeRuntime
    let workspaceView: WorkspaceJSON
    let cursors: PageCursor.Codec
    let config: ServerConfig
    let clock: any WallClock

    func add(to router: inout Router) {
        router.post("/v1/workspaces", gate.authenticated("/v1/workspaces", creates: .requiring(.viewer, orScope: nil)) { [self] request in try await createWorkspace(request) })
        router.get("/v1/workspaces", gate.authenticated("/v1/workspaces") { [self] request in try await listWorkspaces(request) })
        router.get("/v1/workspaces/{id}", gate.authenticated("/v1/workspaces/{id}") { [self] request in try await getWorkspace(request) })
        router.add("PATCH", "/v1/workspaces/{id}", gate.authenticated("/v1/workspaces/{id}") { [self] request in
            try await updateWorkspace(request)
        })
        router.post("/v1/workspaces/{id}/switch", gate.authenticated("/v1/workspaces/{id}/switch") { [self] request in
            try await switchWorkspace(request)
        })
    }

    private func createWorkspace(_ request: APIRequest) async throws -> HTTPResponse {
        let (userID, _) = try request.caller.requireUser(.viewer)
        var body = try JSONBody(request.http, allowed: ["name", "plan"])
        let name = try body.string("name", required: true, maxLength: 100)
        let plan = try body.choice("plan", as: Plan.self) ?? .starter
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { body.problem("name", "name must not be blank.") }
        try body.finish()
        guard let name else { throw APIError(.internalError, "validated fields missing") }
        try requireSelfService(plan)
        let now = clock.now
        let id = RandomID.make(prefix: "ws")
        request.audit?.setTarget(id)
        request.audit?.setWorkspace(id)  // the new workspace's chain starts with its creation
        let state = TenantState(name: name, plan: plan, createdAt: now)
        var json = workspaceView.json(id: id, state: state)
        if case .object(var object) = json {
            object["role"] = .string(Role.owner.rawValue)
            json = .object(object)
        }
        let response = Self.json(201, json)
        try await accounts.createWorkspace(id: id, state: state, owner: userID, ownedCap: config.maxWorkspacesPerUser, at: now,
                                           origin: request.origin(answering: response))
        return response
    }

    private func listWorkspaces(_ request: APIRequest) async throws -> HTTPResponse {
        let (userID, _) = try request.caller.requireUser(.viewer)
        let scope = "workspaces:\(userID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        var memberships = Array(try await accounts.memberships(userID: userID).reversed())
        if let cursor = page.cursor {
            memberships = memberships.filter { ($0.joinedAt.microsecondsSinceEpoch, $0.workspaceID) < (cursor.createdAt, cursor.id) }
        }
        let items = Array(memberships.prefix(page.limit + 1))
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.joinedAt.microsecondsSinceEpoch, id: $0.workspaceID) },
            render: { membership in
                JSON.object(JSONObject([
                    ("id", .string(membership.workspaceID)), ("name", .string(membership.workspaceName)),
                    ("plan", .string(membership.plan.rawValue)), ("role", .string(membership.role.rawValue)),
                    ("limits", WorkspaceJSON.limits(workspaceView.plans[membership.plan] ?? PlanLimits())),
                ]))
            }))
    }

    /// The caller's own workspace; any other id is 404, never 403 (API.md).
    private func getWorkspace(_ request: APIRequest) async throws -> HTTPResponse {
        let id = try request.ownWorkspace()
        _ = try request.caller.requireUser(.viewer)
        let (name, plan, createdAt) = try await runtime.tenants.call(id) { ($0.name, $0.plan, $0.createdAt) }
        return Self.json(200, workspaceView.json(id: id, name: name, plan: plan, createdAt: createdAt))
    }

    private func updateWorkspace(_ request: APIRequest) async throws -> HTTPResponse {
        let id = try request.ownWorkspace()
        var body = try JSONBody(request.http, allowed: ["name", "plan"])
        let name = try body.string("name", maxLength: 100)
        let plan = try body.choice("plan", as: Plan.self)
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { body.problem("name", "name must not be blank.") }
        try body.finish()
        _ = try request.caller.requireUser(plan == nil ? .admin : .owner)
        if let plan {
            try requireSelfService(plan)
            request.audit?.setEvent("workspace.plan_changed")
            request.audit?.setNote("plan: \(plan.rawValue)")
        }
        let origin = request.origin
        let (newName, newPlan, createdAt) = try await runtime.tenants.call(id) { tenant in
            try await tenant.update(name: name, plan: plan, origin: origin)
            return (tenant.name, tenant.plan, tenant.createdAt)
        }
        return Self.json(200, workspaceView.json(id: id, name: newName, plan: newPlan, createdAt: createdAt))
    }

    /// A plan outside the config's `self_service_plans` is the operator's to set: 403.
    private func requireSelfService(_ plan: Plan) throws(APIError) {
        guard config.selfServicePlans.contains(plan) else {
            throw APIError(.forbidden, "The \(plan.rawValue) plan is set by this server's operator (troupe workspace set-plan), not chosen here.")
        }
    }

    private func switchWorkspace(_ request: APIRequest) async throws -> HTTPResponse {
        let (userID, _) = try request.caller.requireUser(.viewer)
        let id = request.parameter("id")
        guard let role = try await accounts.role(userID: userID, workspaceID: id) else { throw APIError.notFound("Workspace", id) }
        return Self.json(200, ["token": .string(authenticator.issueToken(userID: userID, workspaceID: id, role: role))])
    }
}
