import TroupeCore
import TroupeTransport

/// A resource's routes (runs, jobs, workflows, …): a small value holding only what its
/// handlers use, which adds them to the router through the ``RouteGate``.
protocol RouteGroup: Sendable {
    func add(to router: inout Router)
}

extension RouteGroup {
    /// A JSON response.
    static func json(_ status: Int, _ body: JSON) -> HTTPResponse {
        .json(status, body.bytes)
    }
}
