import TroupeActors
import TroupeCore
import TroupeSystem
import TroupeTransport

/// Sandboxes (API.md, "Sandboxes"): create (202, `provisioning`), list, read, exec (one at a
/// time; 403 while the operator has exec off), delete (202; processes killed, directory gone).
/// Reads need `sandboxes:read` (people: any member); the rest `sandboxes:write` (members).
struct SandboxRoutes: RouteGroup {
    let gate: RouteGate
    let runtime: TroupeRuntime
    let sandboxes: SandboxEngine
    let cursors: PageCursor.Codec

    func add(to router: inout Router) {
        router.post("/v1/sandboxes", gate.authenticated("/v1/sandboxes", creates: .requiring(.member, orScope: .sandboxesWrite)) {
            [self] request in try await create(request)
        })
        router.get("/v1/sandboxes", gate.authenticated("/v1/sandboxes") { [self] request in try await list(request) })
        router.get("/v1/sandboxes/{id}", gate.authenticated("/v1/sandboxes/{id}") { [self] request in try await one(request) })
        router.post("/v1/sandboxes/{id}/exec", gate.authenticated("/v1/sandboxes/{id}/exec") { [self] request in try await exec(request) })
        router.add("DELETE", "/v1/sandboxes/{id}", gate.authenticated("/v1/sandboxes/{id}") { [self] request in try await delete(request) })
    }

    private func create(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .sandboxesWrite)
        let workspaceID = try request.caller.workspaceID
        var body = try JSONBody(request.http, allowed: ["runtime", "resource_limits", "ttl_s"])
        if let runtime = try body.string("runtime", maxLength: 64), runtime != "process" {
            body.problem("runtime", "runtime must be \"process\", the one this server has.")
        }
        let parsed = SandboxLimits.parse(body.raw("resource_limits"))
        for (field, message) in parsed.problems { body.problem(field, message) }
        let range = Int64(SandboxEngine.ttlRange.lowerBound)...Int64(SandboxEngine.ttlRange.upperBound)
        let ttl = try body.integer("ttl_s", in: range).map(Int.init) ?? SandboxEngine.defaultTTLSeconds
        try body.finish()
        let cap = try await runtime.tenants.call(workspaceID) { $0.limits.sandboxes }
        let record = try await sandboxes.create(workspaceID: workspaceID, limits: parsed.limits, ttlSeconds: ttl, cap: cap) { record in
            request.audit?.setTarget(record.id)
            return request.origin(answering: Self.json(202, record.json))
        }
        return Self.json(202, record.json)
    }

    private func list(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .sandboxesRead)
        let workspaceID = try request.caller.workspaceID
        let scope = "sandboxes:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await sandboxes.sandboxes(workspaceID: workspaceID, after: page.cursor.map { ($0.createdAt, $0.id) },
                                                  limit: page.limit + 1)
        return Self.json(200, ListPage.json(items, limit: page.limit, codec: cursors, scope: scope,
                                            cursor: { PageCursor(createdAt: $0.createdAt.microsecondsSinceEpoch, id: $0.id) },
                                            render: { $0.json }))
    }

    private func one(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .sandboxesRead)
        let id = request.parameter("id")
        guard let record = try await sandboxes.sandbox(id: id, workspaceID: try request.caller.workspaceID) else {
            throw APIError.notFound("Sandbox", id)
        }
        return Self.json(200, record.json)
    }

    private func exec(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .sandboxesWrite)
        let workspaceID = try request.caller.workspaceID
        let id = request.parameter("id")
        var body = try JSONBody(request.http, allowed: ["argv", "stdin", "env", "timeout_ms"])
        let argvValues = try body.array("argv", required: true) ?? []
        let argv = argvValues.compactMap(\.stringValue)
        if argv.count != argvValues.count { body.problem("argv", "argv must be an array of strings.") }
        if body.has("argv") { for (field, message) in SandboxExec.argvProblems(argv) { body.problem(field, message) } }
        let stdin = try body.string("stdin", maxLength: Int.max) ?? ""
        var environment: [String: String] = [:]
        if let env = body.raw("env"), !env.isNull {
            guard let object = env.objectValue else { throw APIError(.invalidRequest, "env must be an object of strings.") }
            for member in object {
                guard let value = member.value.stringValue else { throw APIError(.invalidRequest, "env values must be strings.") }
                environment[member.key] = value
            }
            for (field, message) in SandboxExec.environmentProblems(environment) { body.problem(field, message) }
        }
        let timeout = try body.integer("timeout_ms", in: 1...Int64(SandboxLimits.fields[2].range.upperBound)).map(Int.init)
        try body.finish()
        let exec = SandboxExec(argv: argv, stdin: Array(stdin.utf8), environment: environment, timeoutMS: timeout)
        // Before the exec: its entry is committed with the sandbox's first write.
        request.audit?.setNote(SandboxExec.auditNote(argv))
        guard let outcome = try await sandboxes.exec(exec, in: id, workspaceID: workspaceID, origin: request.origin) else {
            throw APIError.notFound("Sandbox", id)
        }
        if let failure = outcome.failure, outcome.exitCode == nil, outcome.signal == nil {
            throw APIError(.validationError, "The command could not start: \(failure).")
        }
        return Self.json(200, .object(JSONObject([
            ("exit_code", outcome.exitCode.map { .int(Int64($0)) } ?? .null),
            ("signal", outcome.signal.map { .string(SandboxExec.signalName($0)) } ?? .null),
            ("stdout", .string(String(decoding: outcome.stdout, as: UTF8.self))),
            ("stderr", .string(String(decoding: outcome.stderr, as: UTF8.self))),
            ("truncated", .bool(outcome.truncated)), ("timed_out", .bool(outcome.timedOut)),
            ("duration_ms", .int(SandboxExec.milliseconds(outcome.duration))),
        ])))
    }

    private func delete(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.member, orScope: .sandboxesWrite)
        let id = request.parameter("id")
        guard let record = try await sandboxes.delete(id: id, workspaceID: try request.caller.workspaceID, origin: request.origin) else {
            throw APIError.notFound("Sandbox", id)
        }
        return Self.json(202, record.json)
    }
}
