import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport

/// What every route goes through before its handler: authentication, the workspace's limits
/// and quota, `Idempotency-Key` on create routes, and the mapping of errors to API.md's error
/// shape. Route groups get one and wrap their handlers with ``open(_:_:)`` or
/// ``authenticated(_:creates:_:)``.
struct RouteGate: Sendable {
    typealias Handler = @Sendable (APIRequest) async throws -> HTTPResponse

    let authenticator: Authenticator
    let idempotency: IdempotencyGate
    let tenants: ActorRegistry<TenantActor>
    let usage: UsageStore
    let clock: any WallClock

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
                let apiRequest = APIRequest(http: request, parameters: parameters, requestID: requestID, principal: principal,
                                            query: QueryParameters(request.query))
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
                        return await respond(to: keyed, with: body, record: record)
                    }
                } else {
                    response = await respond(to: apiRequest, with: body, record: record)
                }
            } catch {
                response = Self.errorResponse(error, requestID: requestID, record: record)
            }
            for field in rateHeaders where !response.headers.contains(field.name) { response.headers.set(field.name, field.value) }
            return response
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
