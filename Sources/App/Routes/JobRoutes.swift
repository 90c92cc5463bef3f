import TroupeActors
import TroupeCore
import TroupeTransport

/// Job queues: create, long-poll claim, heartbeat, complete, fail, and the dead-letter queue.
/// Parses and renders; ``JobQueue`` does the rest.
struct JobRoutes: RouteGroup {
    let gate: RouteGate
    let jobs: JobQueue
    let cursors: PageCursor.Codec
    let clock: any WallClock
    let isDraining: @Sendable () -> Bool

    func add(to router: inout Router) {
        router.post("/v1/jobs/claim", gate.authenticated("/v1/jobs/claim") { [self] request in try await claimJob(request) })
        router.post("/v1/jobs", gate.authenticated("/v1/jobs", creates: .requiring(.member, orScope: .jobsWork)) { [self] request in try await createJob(request) })
        router.get("/v1/jobs", gate.authenticated("/v1/jobs") { [self] request in try await listJobs(request, status: nil) })
        router.get("/v1/jobs/{id}", gate.authenticated("/v1/jobs/{id}") { [self] request in try await getJob(request) })
        router.post("/v1/jobs/{id}/heartbeat", gate.authenticated("/v1/jobs/{id}/heartbeat") { [self] request in try await heartbeat(request) })
        router.post("/v1/jobs/{id}/complete", gate.authenticated("/v1/jobs/{id}/complete") { [self] request in try await completeJob(request) })
        router.post("/v1/jobs/{id}/fail", gate.authenticated("/v1/jobs/{id}/fail") { [self] request in try await failJob(request) })
        router.get("/v1/dlq", gate.authenticated("/v1/dlq") { [self] request in try await listJobs(request, status: .dead) })
        router.post("/v1/dlq/{id}/retry", gate.authenticated("/v1/dlq/{id}/retry") { [self] request in try await retryDead(request) })
        router.add("DELETE", "/v1/dlq/{id}", gate.authenticated("/v1/dlq/{id}") { [self] request in try await deleteDead(request) })
    }

    private func worker(_ request: APIRequest) throws(APIError) -> String {
        try request.caller.require(.member, orScope: .jobsWork)
        return try request.caller.workspaceID
    }

    private func createJob(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        var body = try JSONBody(request.http, allowed: ["queue", "input", "max_attempts", "timeout_ms"])
        let queue = try body.string("queue", required: true, maxLength: 64)
        let attempts = try body.integer("max_attempts", in: 1...20) ?? Int64(WorkflowStep.defaultMaxAttempts)
        let timeout = try body.integer("timeout_ms", in: 1...WorkflowParser.maxTimeoutMilliseconds) ?? WorkflowStep.defaultTimeoutMilliseconds
        let input = body.raw("input") ?? .object(JSONObject())
        if input.objectValue == nil { throw APIError(.invalidRequest, "input must be an object.") }
        if input.bytes.count > WorkflowParser.maxInputBytes { body.problem("input", "input must be at most 64 KiB of JSON.") }
        if queue?.isEmpty == true { body.problem("queue", "queue must not be empty.") }
        try body.finish()
        guard let queue else { throw APIError(.internalError, "validated fields missing") }
        let jobID = RandomID.make(prefix: "job")
        request.audit?.setTarget(jobID)
        let job = JobRecord(id: jobID, workspaceID: workspaceID, queue: queue, runID: nil, stepID: nil, input: input,
                            maxAttempts: Int(attempts), timeoutMilliseconds: timeout, at: clock.now)
        let response = Self.json(201, job.json())
        try await jobs.create(job, origin: request.origin(answering: response))
        return response
    }

    /// Long poll: a job of `queues` leased to the caller (200), or 204 once `wait_ms` passed.
    private func claimJob(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        var problems: [APIError.FieldError] = []
        let terms = try JobClaim.parse(try JSONBody.object(request.http), requiringWorker: true, problems: &problems)
        guard let terms else { throw APIError.validation(problems) }
        guard let job = try await claim(terms, workspaceID: workspaceID, origin: request.origin) else { return HTTPResponse(status: 204) }
        return Self.json(200, job.json(showingLeaseToken: true))
    }

    /// A job leased on `terms` (to `worker` when they name none), waiting for one up to their
    /// `wait_ms` (nil when none came).
    private func claim(_ terms: JobClaim, workspaceID: String, worker: String? = nil, origin: ChangeOrigin) async throws -> JobRecord? {
        let claim = JobQueue.Claim(queues: terms.queues, workerID: terms.workerID ?? worker ?? "worker", wait: .milliseconds(terms.waitMilliseconds),
                                   lease: .milliseconds(terms.leaseMilliseconds))
        return try await jobs.claim(claim, in: workspaceID, stopWaiting: isDraining, origin: origin)
    }

    /// A completion's or failure's `claim_next`, parsed (its problems added to `body`).
    private func claimNext(_ body: inout JSONBody) throws(APIError) -> JobClaim? {
        guard let given = body.raw("claim_next"), !given.isNull else { return nil }
        guard let object = given.objectValue else { throw APIError(.invalidRequest, "claim_next must be an object {queues, worker_id?, wait_ms?, lease_ms?}.") }
        var problems: [APIError.FieldError] = []
        let terms = try JobClaim.parse(object, prefix: "claim_next.", requiringWorker: false, problems: &problems)
        for problem in problems { body.problem(problem.field, problem.message) }
        return terms
    }

    /// The finished job, with the next one `claim_next` leased (`next_job`, null when none came)
    /// to the finished job's worker unless it names another.
    private func finished(_ job: JobRecord, next terms: JobClaim?, workspaceID: String, origin: ChangeOrigin) async throws -> HTTPResponse {
        guard let terms else { return Self.json(200, job.json()) }
        var answer = job.json().objectValue ?? JSONObject()
        let next = try await claim(terms, workspaceID: workspaceID, worker: job.workerID, origin: origin)
        answer["next_job"] = next?.json(showingLeaseToken: true) ?? .null
        return Self.json(200, .object(answer))
    }

    private func heartbeat(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        var body = try JSONBody(request.http, allowed: ["lease_token", "lease_ms"])
        let token = try body.string("lease_token", required: true, maxLength: 128)
        let lease = try body.integer("lease_ms", in: 1000...JobClaim.maxLeaseMilliseconds) ?? JobClaim.defaultLeaseMilliseconds
        try body.finish()
        guard let token else { throw APIError(.internalError, "validated fields missing") }
        let job = try await jobs.heartbeat(request.parameter("id"), in: workspaceID, token: token, lease: .milliseconds(lease), origin: request.origin)
        return Self.json(200, ["lease_expires_at": .string((job.machine.leaseExpiresAt ?? clock.now).rfc3339)])
    }

    private func completeJob(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        var body = try JSONBody(request.http, allowed: ["lease_token", "output", "usage", "claim_next"])
        let token = try body.string("lease_token", required: true, maxLength: 128)
        let output = try Self.output(body.raw("output"), into: &body)
        let usage = try Self.usage(body.raw("usage"), into: &body)
        let next = try claimNext(&body)
        try body.finish()
        guard let token else { throw APIError(.internalError, "validated fields missing") }
        let job = try await jobs.complete(request.parameter("id"), in: workspaceID, token: token, output: output, usage: usage, origin: request.origin)
        return try await finished(job, next: next, workspaceID: workspaceID, origin: request.origin)
    }

    private func failJob(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        var body = try JSONBody(request.http, allowed: ["lease_token", "error", "retryable", "claim_next"])
        let token = try body.string("lease_token", required: true, maxLength: 128)
        guard let error = body.raw("error")?.objectValue, let code = error["code"]?.stringValue, let message = error["message"]?.stringValue else {
            throw APIError(.invalidRequest, "error must be an object {code, message} of strings.")
        }
        let retryable = body.raw("retryable").map { $0 != false } ?? true
        let next = try claimNext(&body)
        try body.finish()
        guard let token else { throw APIError(.internalError, "validated fields missing") }
        let reported: JSON = ["code": .string(String(code.prefix(128))), "message": .string(String(message.prefix(4096)))]
        let job = try await jobs.fail(request.parameter("id"), in: workspaceID, token: token, error: reported, retryable: retryable, origin: request.origin)
        return try await finished(job, next: next, workspaceID: workspaceID, origin: request.origin)
    }

    private func getJob(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .jobsRead)
        let id = request.parameter("id")
        guard let job = try await jobs.store.job(workspaceID: try request.caller.workspaceID, id: id) else { throw APIError.notFound("Job", id) }
        return Self.json(200, job.json())
    }

    /// `GET /v1/jobs?status=&queue=` and, with `status` fixed to dead, `GET /v1/dlq`.
    private func listJobs(_ request: APIRequest, status fixed: JobMachine.Status?) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .jobsRead)
        let workspaceID = try request.caller.workspaceID
        var status = fixed
        if fixed == nil, let text = request.query["status"] {
            guard let parsed = JobMachine.Status(rawValue: text) else {
                throw APIError(.invalidRequest, "status must be one of \(JobMachine.Status.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            status = parsed
        }
        let queue = fixed == nil ? request.query["queue"] : nil
        let scope = "jobs:\(workspaceID):\(status?.rawValue ?? ""):\(queue ?? "")"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await jobs.store.jobs(workspaceID: workspaceID, status: status, queue: queue,
                                        after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.createdAt.microsecondsSinceEpoch, id: $0.id) }, render: { $0.json() }))
    }

    private func retryDead(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        return Self.json(200, try await jobs.retryDead(request.parameter("id"), in: workspaceID, origin: request.origin).json())
    }

    private func deleteDead(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try worker(request)
        try await jobs.store.deleteDead(workspaceID: workspaceID, id: request.parameter("id"), origin: request.origin)
        return HTTPResponse(status: 204)
    }

    /// The most JSON a completion's `output` may hold: it is copied into the run, its
    /// `step.succeeded` event, every stream and every webhook delivery.
    static let maxOutputBytes = 64 << 10

    /// `output` of a completion: absent, null, or an object of at most ``maxOutputBytes`` (a
    /// larger one is a 422, another type a 400).
    static func output(_ value: JSON?, into body: inout JSONBody) throws(APIError) -> JSON? {
        guard let value, !value.isNull else { return value }
        guard value.objectValue != nil else { throw APIError(.invalidRequest, "output must be an object.") }
        if value.bytes.count > maxOutputBytes { body.problem("output", "output must be at most 64 KiB of JSON.") }
        return value
    }

    /// API.md's bounds of a completion's `usage`.
    static let maxReportedTokens: Int64 = 1_000_000_000_000
    static let maxReportedCostUSD = 1_000_000.0

    /// `usage` of a completion: `{input_tokens?, output_tokens?, cost_usd?}`, tokens whole
    /// numbers from 0 to 10^12 and cost from 0 to 10^6 (422 outside), checked before any
    /// conversion so that no number a worker sends can trap.
    private static func usage(_ json: JSON?, into body: inout JSONBody) throws(APIError) -> JSON? {
        guard let json, !json.isNull else { return nil }
        guard let object = json.objectValue else { throw APIError(.invalidRequest, "usage must be an object.") }
        return .object(try body.numbers(object, bounds: [
            "input_tokens": .integer(0...maxReportedTokens), "output_tokens": .integer(0...maxReportedTokens),
            "cost_usd": .number(0...maxReportedCostUSD),
        ], prefix: "usage.", nullable: false))
    }
}
