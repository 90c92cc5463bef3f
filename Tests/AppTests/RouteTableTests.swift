import Foundation
import Testing
import TroupeCore

@testable import TroupeApp

/// The route table against what is written beside it (until a route is written once, as an
/// `Endpoint`): every route that changes state has an audit event, from the audit table or
/// written by its handler (a miss would be a silent gap in the chain), and `/openapi.json`
/// lists exactly the routes the server serves.
@Suite(.timeLimit(.minutes(1))) struct RouteTableTests {
    /// Routes that change state and have no entry in the audit table, each with why.
    static let auditedElsewhereOrNot: [String: String] = [
        "POST /v1/auth/signup": "its handler files user.signed_up in the new workspace's chain",
        "POST /v1/auth/login": "a failure is auth.login_failed in each of the user's workspaces, written by its handler; a success changes nothing",
        "POST /v1/jobs/claim": "a lease is the worker's protocol, not a change a person audits",
        "POST /v1/jobs/{id}/heartbeat": "a lease's renewal, likewise",
        "POST /v1/workflows/validate": "changes nothing",
        "POST /v1/workspaces/{id}/switch": "issues a session token for a membership already audited",
    ]

    @Test func everyChangeRouteIsAuditedAndTheDocumentListsExactlyTheRoutes() async throws {
        let server = try await TestServer.start()
        let routes = server.server.app.makeRouter().routes.map { "\($0.method) \($0.pattern)" }
        let unaudited = routes.filter { route in
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            return parts[0] != "GET" && AuditedRoute.of(parts[0], parts[1]) == nil
        }
        #expect(Set(unaudited) == Set(Self.auditedElsewhereOrNot.keys), "change routes without an audit event: \(Set(unaudited).subtracting(Self.auditedElsewhereOrNot.keys).sorted())")

        let document = try await server.send("GET", "/openapi.json").json
        var documented: [String] = []
        for path in document["paths"]?.objectValue ?? JSONObject() {
            for method in path.value.objectValue ?? JSONObject() { documented.append("\(method.key.uppercased()) \(path.key)") }
        }
        #expect(Set(routes).subtracting(documented).isEmpty, "served but not in /openapi.json: \(Set(routes).subtracting(documented).sorted())")
        #expect(Set(documented).subtracting(routes).isEmpty, "in /openapi.json but not served: \(Set(documented).subtracting(routes).sorted())")
        #expect(documented.count == Set(documented).count)
        await server.stop()
    }
}
