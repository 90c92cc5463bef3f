import TroupeActors
import TroupeCore
import TroupePersistence
import Synchronization
import TroupeTransport

/// What every route goes through before its handler: authentication, the workspace's limits
/// and quota, `Idempotency-Key` on create routes, the audit entry of a change route (carried
/// by the request's change, or written for a refusal: ``AuditedRoute``), and the mapping of
/// errors to API.md's error shape. Route groups get one and wrap their handlers with ``open(_:_:)`` or
/// ``authenticated(_:creates:_:)``.
struct RouteGate: Sendable {
    typealias Handler = @Sendable (APIRequest) async throws -> HTTPResponse

    let authenticator: Authenticator
    let idempotency: IdempotencyGate
    let tenants: ActorRegistry<TenantActor>
    let usage: UsageStore
    let journal: Journal
    let clock: any WallClock
    let shares: FairShare

    /// A route open to anyone (signup, login, plans, operations).
    func open(_ pattern: String, _ body: @escaping Handler) -> Router.Handler {
        wrap(pattern, authenticated: false, body)
    }

    /// A route that needs a session token or API key, counted against the workspace's limits.
    /// `creates`: a route that creates something, where `Idempotency-Key` applies.
    func authenticated(_ pattern: String, creates: Creation? = nil, _ body: @escaping Handler) -> Router.Handler {
        wrap(pattern, authenticated: true, creation: creates, body)
    }

    private func wrap(_ pattern: String, authenticated: Bool, creation: Creation? = nil, _ body: @escaping Handler) -> Router.Handler {
        { request, parameters in
            let record = RouteRecord.current
            record?.info.withLock { $0.route = pattern }
            // APIResponder has already put the request's one id (the client's or a new one) here.
            let requestID = request.headers["X-Request-Id"] ?? RequestID.resolve(nil)
            var rateHeaders = HTTPHeaders()
            var response: HTTPResponse
            do {
                var principal: Principal?
                if authenticated {
                    let caller = try await authenticator.authenticate(request.headers)
                    record?.info.withLock { $0.workspaceID = caller.workspaceID }
                    rateHeaders = try await admit(caller)
                    principal = caller
                }
                let caller = principal
                @Sendable func handled() async throws -> HTTPResponse {
                    try await handle(request, parameters, pattern: pattern, principal: caller, requestID: requestID,
                                     creation: creation, record: record, body)
                }
                // The fair share counts a workspace's requests; an open route has no workspace.
                let deferred = try caller.map { try shares.admit($0.workspaceID) } ?? false
                defer { if let caller { shares.release(caller.workspaceID) } }
                response = deferred ? try await FairShare.deferred(handled) : try await handled()
            } catch {
                response = Self.errorResponse(error, requestID: requestID, record: record)
            }
            for field in rateHeaders where !response.headers.contains(field.name) { response.headers.set(field.name, field.value) }
            return response
        }
    }

    /// The request past authentication and admission: its audit intent, `Idempotency-Key`, the
    /// handler, and the audit entry it did not carry.
    private func handle(
        _ request: HTTPRequest, _ parameters: RouteParameters, pattern: String, principal: Principal?, requestID: String,
        creation: Creation?, record: RouteRecord?, _ body: @escaping Handler
    ) async throws -> HTTPResponse {
        let response: HTTPResponse
        var apiRequest = APIRequest(http: request, parameters: parameters, requestID: requestID, principal: principal,
                                    query: QueryParameters(request.query))
        let audited = AuditedRoute.of(request.method, pattern)
        if let audited, let principal {
            apiRequest.audit = AuditIntent(AuditDraft(
                workspaceID: principal.workspaceID, actor: AuditActor(principal), event: audited.event, targetType: audited.targetType,
                targetID: audited.targetParameter.flatMap { parameters[$0] }, requestID: requestID, ip: request.remoteAddress))
        }
        let handled = Atomic<Bool>(false)
        if let creation, let principal, let key = try IdempotencyGate.key(of: request) {
            // Authenticated and admitted above; the role or scope is checked here, so
            // that nobody is replayed an answer they may not ask for.
            try principal.require(creation.access)
            response = try await idempotency.perform(
                workspaceID: principal.workspaceID, key: key, principal: principal.identity, request: request,
                sealing: creation.answerHoldsSecret, origin: apiRequest.origin
            ) { pending in
                var keyed = apiRequest
                keyed.idempotency = pending
                handled.store(true, ordering: .relaxed)
                return await respond(to: keyed, with: body, record: record)
            }
        } else {
            handled.store(true, ordering: .relaxed)
            response = await respond(to: apiRequest, with: body, record: record)
        }
        // A replayed answer is no new change: only a request that ran is recorded.
        if handled.load(ordering: .relaxed), audited != nil {
            await recordAudit(of: apiRequest, pattern: pattern, status: response.status, record: record)
        }
        return response
    }

    /// Writes what the request's changes did not carry: the entry of a change route that
    /// succeeded without committing it, or of an attempt refused with 403 or 404 (the same
    /// entry whether the target is absent or another workspace's). A failure to write is a
    /// fault of the request, logged with it; the answer stands.
    private func recordAudit(of request: APIRequest, pattern: String, status: Int, record: RouteRecord?) async {
        guard let intent = request.audit else { return }
        var origin = request.origin
        switch status {
        case 200..<300:
            break
        case 403, 404:
            let attempted = intent.draft
            origin.audit = AuditIntent(AuditDraft(
                workspaceID: attempted.workspaceID, actor: attempted.actor, event: AuditedRoute.deniedEvent, targetType: attempted.targetType,
                targetID: attempted.targetID, note: "\(request.http.method) \(pattern) \(status)", requestID: attempted.requestID, ip: attempted.ip))
        default:
            return
        }
        do {
            try await journal.commitAudit(origin)
        } catch {
            record?.info.withLock { $0.error = "audit entry not written: \(error)" }
        }
    }

    /// The handler's response, or its error as a response (what a replayed request gets again).
    private func respond(to request: APIRequest, with body: Handler, record: RouteRecord?) async -> HTTPResponse {
        do {
            return try await body(request)
        } catch {
            return Self.errorResponse(error, requestID: request.requestID, record: record)
        }
    }

    private static func errorResponse(_ error: any Error, requestID: String, record: RouteRecord?) -> HTTPResponse {
        if let answer = (error as? any APIErrorConvertible)?.apiError { return answer.response(requestID: requestID) }
        // A fault: logged with the request id, never shown to the client.
        record?.info.withLock { $0.error = String(describing: error) }
        return APIError(.internalError, "Something went wrong on our side; quote request \(requestID) to support.")
            .response(requestID: requestID)
    }

    /// Admits the request under the workspace's limits (and the key's), counts it, and returns
    /// the `X-RateLimit-*` headers; a refused request throws 429 with them and `Retry-After`.
    private func admit(_ caller: Principal) async throws -> HTTPHeaders {
        let apiKeyID = caller.apiKeyID
        let decision: RateDecision?
        do {
            // An unlimited plan with no key limit has nothing to decide: no hop into the actor.
            if try await tenants.peek(caller.workspaceID, { $0.needsAdmission(byAPIKey: apiKeyID != nil) }) {
                decision = try await tenants.call(caller.workspaceID) { tenant in try await tenant.admit(apiKeyID: apiKeyID) }
            } else {
                decision = nil
            }
        } catch let error as ActorRuntimeError where error.code == .notFound {
            throw APIError(.unauthorized, "The workspace of this token no longer exists.")
        }
        var headers: HTTPHeaders = [:]
        if let decision {
            headers = [
                "X-RateLimit-Limit": String(decision.limit), "X-RateLimit-Remaining": String(decision.remaining),
                "X-RateLimit-Reset": String(decision.resetUnixSeconds),
            ]
            guard decision.allowed else {
                var error = APIError(.rateLimited, "Rate limit of \(decision.limit) requests reached; retry in \(decision.retryAfterSeconds) s.")
                error.retryAfterSeconds = decision.retryAfterSeconds
                error.headers = headers
                throw error
            }
        }
        usage.countRequest(workspaceID: caller.workspaceID, at: clock.now)
        return headers
    }
}
