import TroupeActors
import TroupeCore
import TroupeTransport

/// Workflows: create (also from a template), validate, list, read, replace, delete.
struct WorkflowRoutes: RouteGroup {
    let gate: RouteGate
    let workflows: WorkflowStore
    let cursors: PageCursor.Codec
    let clock: any WallClock

    func add(to router: inout Router) {
        // Literal segments first: the router takes the first pattern that fits.
        router.get("/v1/workflows/templates", gate.authenticated("/v1/workflows/templates") { [self] request in try listTemplates(request) })
        router.post("/v1/workflows/validate", gate.authenticated("/v1/workflows/validate") { [self] request in try validateWorkflow(request) })
        router.post("/v1/workflows/from-template/{slug}", gate.authenticated("/v1/workflows/from-template/{slug}", creates: .requiring(.member, orScope: .workflowsWrite)) { [self] request in
            try await createFromTemplate(request)
        })
        router.post("/v1/workflows", gate.authenticated("/v1/workflows", creates: .requiring(.member, orScope: .workflowsWrite)) { [self] request in try await createWorkflow(request) })
        router.get("/v1/workflows", gate.authenticated("/v1/workflows") { [self] request in try await listWorkflows(request) })
        let one = "/v1/workflows/{id}"
        router.get(one, gate.authenticated(one) { [self] request in try await getWorkflow(request) })
        router.add("PUT", one, gate.authenticated(one) { [self] request in try await replaceWorkflow(request) })
        router.add("DELETE", one, gate.authenticated(one) { [self] request in try await deleteWorkflow(request) })
    }

    private static let maxNameLength = 200
    private static let maxCostCapUSD = 1_000_000_000.0

    private func createWorkflow(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .workflowsWrite)
        var body = try JSONBody(request.http, allowed: Self.fields)
        let slug = try body.string("slug", required: true, maxLength: 64)
        let name = try body.string("name", required: true, maxLength: Self.maxNameLength)
        let costCap = try costCap(&body)
        let timeout = try body.integer("timeout_ms", in: WorkflowParser.deadlineMilliseconds)
        if let slug, !WorkflowParser.isSlug(slug) { body.problem("slug", "slug must be 1–64 characters of a-z, 0-9 and -.") }
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { body.problem("name", "name must not be blank.") }
        let steps = try Self.steps(body.raw("steps"), into: &body)
        try body.finish()
        try request.caller.requireSandboxAccess(for: steps)
        guard let slug, let name else { throw APIError(.internalError, "validated fields missing") }
        return try await create(for: request, workspaceID: try request.caller.workspaceID, slug: slug, name: name, steps: steps, costCapUSD: costCap,
                                timeoutMilliseconds: timeout)
    }

    /// The fields of a workflow's create and replace.
    private static let fields: Set<String> = ["slug", "name", "steps", "cost_cap_usd", "timeout_ms"]

    /// Stores a new workflow; under an `Idempotency-Key`, its answer commits with it.
    private func create(
        for request: APIRequest, workspaceID: String, slug: String, name: String, steps: [WorkflowStep], costCapUSD: Double?,
        timeoutMilliseconds: Int64? = nil
    ) async throws -> HTTPResponse {
        let id = RandomID.make(prefix: "wf")
        request.audit?.setTarget(id)
        let origin = request.origin(answering: { db in
            guard let record = try WorkflowStore.live(db, workspaceID: workspaceID, idOrSlug: id) else {
                throw APIError(.internalError, "the new workflow was not stored")
            }
            return Self.json(201, record.json)
        })
        let record = try await workflows.create(id: id, workspaceID: workspaceID, slug: slug, name: name, steps: steps, costCapUSD: costCapUSD,
                                                timeoutMilliseconds: timeoutMilliseconds, at: clock.now, origin: origin)
        return Self.json(201, record.json)
    }

    private func listWorkflows(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .workflowsRead)
        let workspaceID = try request.caller.workspaceID
        let scope = "workflows:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await workflows.workflows(workspaceID: workspaceID, after: page.cursor.map { ($0.createdAt, $0.id) },
                                                  limit: page.limit + 1)
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.createdAt.microsecondsSinceEpoch, id: $0.id) }, render: \.json))
    }

    private func getWorkflow(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .workflowsRead)
        let idOrSlug = request.parameter("id")
        guard let record = try await workflows.workflow(workspaceID: try request.caller.workspaceID, idOrSlug: idOrSlug) else {
            throw APIError.notFound("Workflow", idOrSlug)
        }
        return Self.json(200, record.json)
    }

    /// `{name?, steps, cost_cap_usd?, timeout_ms?}` (and `slug`, if sent, must be the workflow's): version + 1.
    private func replaceWorkflow(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .workflowsWrite)
        let workspaceID = try request.caller.workspaceID
        let idOrSlug = request.parameter("id")
        var body = try JSONBody(request.http, allowed: Self.fields)
        let slug = try body.string("slug", maxLength: 64)
        let name = try body.string("name", maxLength: Self.maxNameLength)
        let costCap: Double?? = body.has("cost_cap_usd") ? .some(try costCap(&body)) : .none
        let timeout: Int64?? = body.has("timeout_ms") ? .some(try body.integer("timeout_ms", in: WorkflowParser.deadlineMilliseconds)) : .none
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { body.problem("name", "name must not be blank.") }
        let steps = try Self.steps(body.raw("steps"), into: &body)
        guard let current = try await workflows.workflow(workspaceID: workspaceID, idOrSlug: idOrSlug) else {
            throw APIError.notFound("Workflow", idOrSlug)
        }
        if let slug, slug != current.slug { body.problem("slug", "slug cannot change (it is \(current.slug)); create a new workflow instead.") }
        try body.finish()
        try request.caller.requireSandboxAccess(for: steps + current.steps)
        let record = try await workflows.replace(workspaceID: workspaceID, idOrSlug: current.id, name: name, steps: steps, costCapUSD: costCap,
                                                 timeoutMilliseconds: timeout, at: clock.now, origin: request.origin)
        return Self.json(200, record.json)
    }

    private func deleteWorkflow(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .workflowsWrite)
        try await workflows.delete(workspaceID: try request.caller.workspaceID, idOrSlug: request.parameter("id"), at: clock.now, origin: request.origin)
        return HTTPResponse(status: 204)
    }

    /// Checks a definition without storing it: every problem, wrong types included, as `errors`.
    private func validateWorkflow(_ request: APIRequest) throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .workflowsRead)
        let object = try JSONBody.object(request.http)
        var errors: [WorkflowProblem] = []
        func error(_ field: String, _ message: String) { errors.append(WorkflowProblem(field: field, message: message, isWrongType: false)) }
        for key in object.keys where !Self.fields.contains(key) { error(key, "\(key) is not a field of a workflow.") }
        let deadlines = WorkflowParser.deadlineMilliseconds
        if let timeout = object["timeout_ms"], !timeout.isNull, !(timeout.intValue.map(deadlines.contains) ?? false) {
            error("timeout_ms", "timeout_ms must be a whole number from \(deadlines.lowerBound) to \(deadlines.upperBound), or null.")
        }
        if let slug = object["slug"], !(slug.stringValue.map(WorkflowParser.isSlug) ?? false) {
            error("slug", "slug must be 1–64 characters of a-z, 0-9 and -.")
        }
        if let name = object["name"], !(name.stringValue.map { !$0.trimmingCharacters(in: .whitespaces).isEmpty && $0.count <= Self.maxNameLength } ?? false) {
            error("name", "name must be a non-blank string of at most \(Self.maxNameLength) characters.")
        }
        if let cap = object["cost_cap_usd"], !cap.isNull, !(cap.doubleValue.map { $0 >= 0 && $0 <= Self.maxCostCapUSD } ?? false) {
            error("cost_cap_usd", "cost_cap_usd must be a number from 0 to \(Int(Self.maxCostCapUSD)), or null.")
        }
        if case .failure(let list) = WorkflowParser.parse(steps: object["steps"]) { errors += list.problems }
        let rendered = errors.map { JSON.object(JSONObject([("field", .string($0.field)), ("message", .string($0.message))])) }
        return Self.json(200, errors.isEmpty ? ["valid": true] : ["valid": false, "errors": .array(rendered)])
    }

    private func listTemplates(_ request: APIRequest) throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .workflowsRead)
        let scope = "workflow-templates"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let indexed = Array(WorkflowTemplate.all.enumerated())
        let remaining = indexed.filter { index, _ in page.cursor.map { Int64(index) > $0.createdAt } ?? true }
        return Self.json(200, ListPage.json(
            Array(remaining.prefix(page.limit + 1)), limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: Int64($0.offset), id: $0.element.slug) }, render: { $0.element.json }))
    }

    private func createFromTemplate(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .workflowsWrite)
        let templateSlug = request.parameter("slug")
        guard let template = WorkflowTemplate.named(templateSlug) else { throw APIError.notFound("Template", templateSlug) }
        var body = try JSONBody(request.http, allowed: ["slug", "name", "cost_cap_usd"])
        let slug = try body.string("slug", maxLength: 64) ?? template.slug
        let name = try body.string("name", maxLength: Self.maxNameLength) ?? template.name
        let costCap = try costCap(&body)
        if !WorkflowParser.isSlug(slug) { body.problem("slug", "slug must be 1–64 characters of a-z, 0-9 and -.") }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { body.problem("name", "name must not be blank.") }
        try body.finish()
        return try await create(for: request, workspaceID: try request.caller.workspaceID, slug: slug, name: name, steps: template.steps, costCapUSD: costCap)
    }

    /// `cost_cap_usd`: a number from 0 up, or null / absent for no cap.
    private func costCap(_ body: inout JSONBody) throws(APIError) -> Double? {
        try body.number("cost_cap_usd", in: 0...Self.maxCostCapUSD)
    }

    /// The parsed steps; a value of the wrong JSON type is 400 naming its path, any other
    /// problem joins the body's 422 field errors.
    private static func steps(_ json: JSON?, into body: inout JSONBody) throws(APIError) -> [WorkflowStep] {
        switch WorkflowParser.parse(steps: json) {
        case .success(let steps): return steps
        case .failure(let list):
            if let wrongType = list.problems.first(where: \.isWrongType) {
                throw APIError(.invalidRequest, "\(wrongType.field): \(wrongType.message)")
            }
            for problem in list.problems { body.problem(problem.field, problem.message) }
            return []
        }
    }
}
