import Foundation
import Testing
import TroupeTestSupport
import TroupeCore
@testable import TroupeApp

@Suite(.serialized, .timeLimit(.minutes(5))) struct OperationsRoutesTests {
    @Test func healthReadinessAndMetrics() async throws {
        let server = try await TestServer.start()
        #expect(try await server.send("GET", "/healthz").json["status"] == "ok")
        #expect(try await server.send("GET", "/readyz").status == 200)
        _ = try await server.signUp()
        let metrics = try await server.send("GET", "/metrics")
        #expect(metrics.headers["Content-Type"]?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains(#"troupe_http_requests_total{method="POST",route="/v1/auth/signup",status="201"} 1"#))
        #expect(metrics.text.contains("troupe_open_connections"))
        #expect(metrics.text.contains(#"troupe_resident_actors{kind="tenant"}"#))
        let commitCount = metrics.text.split(separator: "\n").first { $0.hasPrefix("troupe_commit_duration_seconds_count ") }
        #expect((commitCount?.split(separator: " ").last).flatMap { Int($0) } ?? 0 >= 1, "signup committed at least once")
        #expect(metrics.text.contains(#"troupe_commit_duration_seconds_bucket{le="+Inf"}"#))
        #expect(metrics.text.contains(#"troupe_runs{status="running"} 0"#))
        #expect(metrics.text.contains(#"troupe_jobs{status="queued"} 0"#))
        #expect(metrics.text.contains(#"troupe_resident_actors{kind="run"} 0"#))
        #expect(metrics.text.contains("troupe_due_work_overdue_seconds 0"), "no due work, none late")
        let echoed = try await server.send("GET", "/healthz", headers: ["X-Request-Id": "my-trace-1"])
        #expect(echoed.headers["X-Request-Id"] == "my-trace-1")
        let unknown = try await server.send("GET", "/v1/nothing-here")
        #expect(unknown.status == 404)
        #expect(unknown.headers["X-Request-Id"] != nil)
        await server.stop()
    }

    /// A client choosing the method token must not grow `/metrics`: methods outside RFC 9110
    /// (and PATCH) are all `other`, unknown paths all `unmatched`.
    @Test func randomMethodTokensAddNoMetricLabels() async throws {
        let server = try await TestServer.start()
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for index in 0..<300 {
            let method = String((0..<Int.random(in: 3...12)).map { _ in letters.randomElement() ?? "X" })
            let path = index.isMultiple(of: 2) ? "/v1/runs" : "/v1/\(RandomID.make(prefix: "p"))"
            let reply = try await server.send(method, path)
            #expect([400, 401, 404, 405].contains(reply.status), "\(method) \(path): \(reply.status)")
        }
        let text = try await server.send("GET", "/metrics").text
        let requestLines = text.split(separator: "\n").filter { $0.hasPrefix("troupe_http_requests_total{") }
        let methods = Set(requestLines.compactMap { line in line.split(separator: "\"").dropFirst().first.map(String.init) })
        #expect(methods.isSubset(of: Metrics.methodLabels.union(["other"])), "\(methods)")
        let routes = Set(requestLines.compactMap { line in line.split(separator: "\"").dropFirst(3).first.map(String.init) })
        #expect(routes.isSubset(of: ["/v1/runs", "unmatched"]), "\(routes)")
        #expect(requestLines.count <= 6, "\(requestLines)")
        await server.stop()
    }

    /// The document is valid OpenAPI 3.1 by `openapi-spec-validator`; skipped, saying so, when
    /// python3 lacks it (CI installs it with pip).
    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("openapi_spec_validator")), "python3 with openapi-spec-validator (CI installs it)"))
    func openAPIDocumentValidates() async throws {
        let server = try await TestServer.start()
        let document = try await server.send("GET", "/openapi.json")
        #expect(document.status == 200)
        #expect(document.json["openapi"] == "3.1.0")
        #expect(document.json["paths"]?["/v1/api-keys/{id}"]?["delete"] != nil)
        #expect(document.json["paths"]?["/v1/audit/verify"]?["get"] != nil)
        #expect(document.json["components"]?["schemas"]?["AuditEntry"]?["required"]?.arrayValue?.count == 12)
        let path = server.directory + "/openapi.json"
        try Data(document.body).write(to: URL(fileURLWithPath: path))
        let (status, output) = await runPython(
            "import sys\nfrom openapi_spec_validator import validate\nfrom openapi_spec_validator.readers import read_from_filename\nvalidate(read_from_filename(sys.argv[1])[0])\nprint('valid')",
            arguments: [path])
        #expect(status == 0, "\(output)")
        await server.stop()
    }

    @Test func readinessIs503WhileDraining() async throws {
        let server = try await TestServer.start()
        server.server.app.startDraining()
        #expect(try await server.send("GET", "/readyz").status == 503)
        await server.stop()
    }
}
