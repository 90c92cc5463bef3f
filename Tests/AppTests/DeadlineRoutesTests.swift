import Foundation
import Testing
import TroupeCore

/// Deadlines over HTTP on the server's own clock: what `timeout_ms` accepts on workflows and
/// approval steps, `deadline_at`, and the runs that time out, as a client sees them.
@Suite(.timeLimit(.minutes(2))) struct DeadlineRoutesTests {
    private func waitForStatus(_ server: TestServer, _ token: String, _ run: String, _ status: String) async throws -> JSON {
        for _ in 0..<100 {
            let reply = try await server.send("GET", "/v1/runs/\(run)", token: token)
            if reply.json["status"] == .string(status) { return reply.json }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("run \(run) never became \(status)")
    }

    @Test func deadlinesAreCheckedShownAndKept() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let wrong: [(String, String)] = [
            (#"{"slug":"a","name":"A","timeout_ms":999,"steps":[{"id":"t","kind":"task"}]}"#, "timeout_ms"),
            (#"{"slug":"a","name":"A","timeout_ms":2592000001,"steps":[{"id":"t","kind":"task"}]}"#, "timeout_ms"),
            (#"{"slug":"a","name":"A","steps":[{"id":"g","kind":"approval","timeout_ms":999}]}"#, "steps[0].timeout_ms"),
        ]
        for (body, field) in wrong {
            let reply = try await server.send("POST", "/v1/workflows", token: ada.token, json: body)
            #expect(reply.status == 422 && reply.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == .string(field), "\(body): \(reply.text)")
            let validated = try await server.send("POST", "/v1/workflows/validate", token: ada.token, json: body)
            #expect(validated.json["valid"] == false, "\(body)")
        }

        let gate = try await server.send("POST", "/v1/workflows", token: ada.token,
                                         json: #"{"slug":"gate","name":"Gate","timeout_ms":60000,"steps":[{"id":"g","kind":"approval","timeout_ms":1000},{"id":"h","kind":"approval"}]}"#)
        #expect(gate.status == 201, "\(gate.text)")
        #expect(gate.json["timeout_ms"] == 60_000)
        #expect(gate.json["steps"]?.arrayValue?.map { $0["timeout_ms"] ?? .null } == [1_000, .null])
        let created = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"gate"}"#).json
        let createdAt = try #require(created["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
        #expect(created["deadline_at"] == .string((createdAt + .seconds(60)).rfc3339))
        let timedOut = try await waitForStatus(server, ada.token, try #require(created["id"]?.stringValue), "failed")
        #expect(timedOut["failure"]?["code"] == "approval_timeout" && timedOut["failure"]?["step_id"] == "g")

        let work = try await server.send("POST", "/v1/workflows", token: ada.token,
                                         json: #"{"slug":"work","name":"Work","timeout_ms":1000,"steps":[{"id":"t","kind":"task","queue":"nobody"}]}"#)
        #expect(work.status == 201)
        let run = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"work"}"#).json
        let runID = try #require(run["id"]?.stringValue)
        let failed = try await waitForStatus(server, ada.token, runID, "failed")
        #expect(failed["failure"]?["code"] == "run_timeout" && failed["failure"]?["step_id"] == .null)
        #expect(failed["steps"]?.arrayValue?.first?["status"] == "cancelled")
        let events = try await server.send("GET", "/v1/audit/logs?limit=50", token: ada.token).json["data"]?.arrayValue ?? []
        #expect(events.contains { $0["event"] == "run.timed_out" && $0["actor"] == ["type": "server", "id": "deadline"] && $0["target_id"] == .string(runID) })

        let cleared = try await server.send("PUT", "/v1/workflows/work", token: ada.token,
                                            json: #"{"timeout_ms":null,"steps":[{"id":"t","kind":"task","queue":"nobody"}]}"#)
        #expect(cleared.status == 200 && cleared.json["timeout_ms"] == .null && cleared.json["version"] == 2)
        let kept = try await server.send("PUT", "/v1/workflows/gate", token: ada.token, json: #"{"steps":[{"id":"g","kind":"approval"}]}"#)
        #expect(kept.json["timeout_ms"] == 60_000, "absent keeps it")
        #expect(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"work"}"#).json["deadline_at"] == .null)
        await server.stop()
    }
}
