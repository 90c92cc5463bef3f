import TroupeTransport

/// A request as a route handler sees it: the HTTP request, its path parameters, its request
/// id and, on authenticated routes, who made it.
struct APIRequest: Sendable {
    let http: HTTPRequest
    let parameters: RouteParameters
    let requestID: String
    let principal: Principal?
    let query: QueryParameters

    /// The principal of an authenticated route (always set there).
    var caller: Principal {
        get throws(APIError) {
            guard let principal else { throw APIError(.unauthorized, "Sign in first.") }
            return principal
        }
    }

    /// A path parameter the route pattern declares.
    func parameter(_ name: String) -> String { parameters[name] ?? "" }
}
