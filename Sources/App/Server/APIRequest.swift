import TroupeActors
import TroupePersistence
import TroupeTransport

/// A request as a route handler sees it: the HTTP request, its path parameters, its request
/// id and, on authenticated routes, who made it.
struct APIRequest: Sendable {
    let http: HTTPRequest
    let parameters: RouteParameters
    let requestID: String
    let principal: Principal?
    let query: QueryParameters
    /// Set while the request runs under an `Idempotency-Key` (``IdempotencyGate``).
    var idempotency: IdempotencyGate.Pending?
    /// The audit entry of a change route, set by the gate; a handler names the target it creates.
    var audit: AuditIntent?

    /// Who asks for the changes this request makes (``ChangeOrigin``), with no answer to keep.
    var origin: ChangeOrigin {
        ChangeOrigin(principal: principal, requestID: requestID, ip: http.remoteAddress, audit: audit)
    }

    /// The origin of the change that creates what this request answers with `response`: under
    /// an `Idempotency-Key`, that answer commits with the change (rendered in its transaction,
    /// so it may read what the change wrote).
    func origin(answering response: @escaping @Sendable (Database) throws -> HTTPResponse) -> ChangeOrigin {
        var origin = origin
        origin.answer = idempotency?.answer(response)
        return origin
    }

    /// The origin of a change answered by `response`, known before the change runs.
    func origin(answering response: HTTPResponse) -> ChangeOrigin {
        origin(answering: { _ in response })
    }

    /// The principal of an authenticated route (always set there).
    var caller: Principal {
        get throws(APIError) {
            guard let principal else { throw APIError(.unauthorized, "Sign in first.") }
            return principal
        }
    }

    /// The workspace of the path, which must be the caller's (another is 404).
    func ownWorkspace() throws(APIError) -> String {
        let id = parameter("id")
        guard id == (try caller.workspaceID) else { throw APIError.notFound("Workspace", id) }
        return id
    }

    /// A path parameter the route pattern declares.
    func parameter(_ name: String) -> String { parameters[name] ?? "" }
}
