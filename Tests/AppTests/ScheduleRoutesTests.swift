import Foundation
import Testing
import TroupeCore

/// Schedules over HTTP on the real server and its clock (API.md, Schedules): a schedule's
/// runs, its life in the audit chain, what each field accepts, scopes, caps and other
/// workspaces.
@Suite(.timeLimit(.minutes(3))) struct ScheduleRoutesTests {
    private func create(_ server: TestServer, _ token: String, _ body: String) async throws -> JSON {
        let reply = try await server.send("POST", "/v1/schedules", token: token, json: body)
        guard reply.status == 201 else { throw TestFailure("schedule: \(reply.status) \(reply.text)") }
        return reply.json
    }

    private func runs(_ server: TestServer, _ token: String, of schedule: String) async throws -> [JSON] {
        try await server.send("GET", "/v1/runs?schedule_id=\(schedule)&limit=200", token: token).json["data"]?.arrayValue ?? []
    }

    @Test func aScheduleStartsRunsOnItsOwnAndEveryChangeIsAudited() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let schedule = try await create(server, ada.token, #"""
            {"workflow":"ship-from-ticket","every_s":1,"overlap_policy":"allow_all","input":{"n":1},"metadata":{"team":"ops"},"priority":-5,"note":"tick"}
            """#)
        let id = try #require(schedule["id"]?.stringValue)
        #expect(id.hasPrefix("sch_"))
        #expect(schedule["next_run_times"]?.arrayValue?.count == 5)
        #expect(schedule["info"]?["action_count"] == 0)
        var started: [JSON] = []
        for _ in 0..<100 where started.count < 2 {
            try await Task.sleep(for: .milliseconds(50))
            started = try await runs(server, ada.token, of: id)
        }
        #expect(started.count >= 2, "every_s: 1 started \(started.count) runs")
        for run in started {
            #expect(run["schedule_id"] == .string(id))
            #expect(run["created_by"] == ["type": "schedule", "id": .string(id)])
            #expect(run["input"] == ["n": 1] && run["metadata"] == ["team": "ops"] && run["priority"] == -5)
            let scheduledAt = try #require(run["scheduled_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
            let createdAt = try #require(run["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
            #expect(scheduledAt.microsecondsSinceEpoch % 1_000_000 == 0, "a whole second")
            #expect(createdAt >= scheduledAt && createdAt - scheduledAt < .seconds(1), "within 1 s of its time")
        }
        #expect(try await runs(server, ada.token, of: "sch_other").isEmpty)

        let changed = try await server.send("PATCH", "/v1/schedules/\(id)", token: ada.token,
                                            json: #"{"cron":"0 0 1 1 *","timezone":"Europe/Berlin"}"#)
        #expect(changed.status == 200, "\(changed.text)")
        #expect(changed.json["every_s"] == .null && changed.json["cron"] == "0 0 1 1 *")
        #expect(changed.json["next_run_times"]?.arrayValue?.allSatisfy { $0.stringValue?.hasSuffix("-12-31T23:00:00.000Z") == true } == true,
                "\(changed.json["next_run_times"] ?? .null)")
        #expect(changed.json["info"]?["recent_runs"]?.arrayValue?.isEmpty == false)
        let paused = try await server.send("POST", "/v1/schedules/\(id)/pause", token: ada.token, json: #"{"note":"freeze"}"#)
        #expect(paused.json["paused"] == true && paused.json["note"] == "freeze" && paused.json["next_run_times"] == [])
        #expect(try await server.send("POST", "/v1/schedules/\(id)/unpause", token: ada.token).json["paused"] == false)

        let triggered = try await server.send("POST", "/v1/schedules/\(id)/trigger", token: ada.token, json: #"{"overlap_policy":"allow_all"}"#)
        #expect(triggered.status == 201, "\(triggered.text)")
        #expect(triggered.json["created_by"] == ["type": "schedule", "id": .string(id)])
        let skipped = try await server.send("POST", "/v1/schedules/\(id)/trigger", token: ada.token, json: #"{"overlap_policy":"skip"}"#)
        #expect(skipped.status == 409, "the triggered run is still running: \(skipped.text)")

        let before = try await runs(server, ada.token, of: id).count
        #expect(try await server.send("DELETE", "/v1/schedules/\(id)", token: ada.token).status == 204)
        #expect(try await server.send("GET", "/v1/schedules/\(id)", token: ada.token).status == 404)
        #expect(try await runs(server, ada.token, of: id).count == before, "its runs are untouched")

        let audit = try await server.send("GET", "/v1/audit/logs?limit=200", token: ada.token).json["data"]?.arrayValue ?? []
        let mine = audit.filter { $0["target_id"] == .string(id) }.compactMap { $0["event"]?.stringValue }
        #expect(mine.reversed() == ["schedule.created", "schedule.updated", "schedule.paused", "schedule.unpaused", "schedule.triggered",
                                    "schedule.deleted"])
        #expect(audit.filter { $0["target_type"] == "schedule" }.allSatisfy { $0["actor"]?["type"] == "user" })
        let byTheSchedule = audit.filter { $0["event"] == "run.created" && $0["actor"]?["id"] == .string(id) }
        #expect(byTheSchedule.count == before, "each run it started, the triggered one too, names it")
        #expect(byTheSchedule.allSatisfy { $0["actor"]?["type"] == "schedule" })
        await server.stop()
    }

    @Test func everyFieldIsCheckedAndScopesCapsAndOtherWorkspacesHold() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let wrong: [(String, String)] = [
            (#"{"workflow":"ship-from-ticket"}"#, "cron"),
            (#"{"workflow":"ship-from-ticket","cron":"@daily","every_s":60}"#, "cron"),
            (#"{"workflow":"ship-from-ticket","cron":"0 25 * * *"}"#, "cron"),
            (#"{"workflow":"ship-from-ticket","every_s":0}"#, "every_s"),
            (#"{"workflow":"ship-from-ticket","every_s":31536001}"#, "every_s"),
            (#"{"workflow":"ship-from-ticket","every_s":1.5}"#, "every_s"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"timezone":"GMT+5"}"#, "timezone"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"catchup_window_s":9}"#, "catchup_window_s"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"jitter_ms":3600001}"#, "jitter_ms"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"priority":601}"#, "priority"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"overlap_policy":"queue"}"#, "overlap_policy"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"start_at":"2027-01-02T00:00:00Z","end_at":"2027-01-01T00:00:00Z"}"#, "end_at"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"start_at":"tomorrow"}"#, "start_at"),
            (#"{"workflow":"ship-from-ticket","every_s":60,"metadata":{"n":1}}"#, "metadata.n"),
            (#"{"workflow":"nope","every_s":60}"#, "workflow"),
            (#"{"every_s":60}"#, "workflow"),
        ]
        for (body, field) in wrong {
            let reply = try await server.send("POST", "/v1/schedules", token: ada.token, json: body)
            #expect(reply.status == 422, "\(body): \(reply.status) \(reply.text)")
            #expect(reply.json["error"]?["field_errors"]?.arrayValue?.contains { $0["field"] == .string(field) } == true, "\(body): \(reply.text)")
        }
        #expect(try await server.send("POST", "/v1/schedules", token: ada.token, json: #"{"workflow":"ship-from-ticket","every_s":60,"color":"red"}"#).status == 400)
        #expect(try await server.send("GET", "/v1/schedules", token: ada.token).json["data"] == [], "nothing refused was stored")

        let reader = try await server.createKey(ada, scopes: ["schedules:read"])
        let runner = try await server.createKey(ada, scopes: ["runs:write", "workflows:read"])
        let writer = try await server.createKey(ada, scopes: ["schedules:write", "schedules:read"])
        let body = #"{"workflow":"ship-from-ticket","cron":"@hourly"}"#
        #expect(try await server.send("POST", "/v1/schedules", token: reader.raw, json: body).status == 403)
        #expect(try await server.send("POST", "/v1/schedules", token: runner.raw, json: body).status == 403)
        let id = try #require(try await create(server, writer.raw, body)["id"]?.stringValue)
        #expect(try await server.send("GET", "/v1/schedules/\(id)", token: reader.raw).status == 200)
        #expect(try await server.send("POST", "/v1/schedules/\(id)/pause", token: reader.raw).status == 403)

        let bob = try await server.signUp()
        for (method, path) in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/trigger")] {
            let reply = try await server.send(method, "/v1/schedules/\(id)\(path)", token: bob.token, json: method == "GET" || method == "DELETE" ? nil : "{}")
            #expect(reply.status == 404, "\(method) \(path): \(reply.status)")
        }
        #expect(try await server.send("GET", "/v1/schedules", token: bob.token).json["data"] == [])

        // The starter plan's cap: 5 schedules.
        for _ in 0..<4 { _ = try await create(server, ada.token, body) }
        let over = try await server.send("POST", "/v1/schedules", token: ada.token, json: body)
        #expect(over.status == 429 && over.text.contains("5 schedules"), "\(over.text)")
        let plans = try await server.send("GET", "/v1/plans").json["data"]?.arrayValue ?? []
        #expect(plans.map { $0["schedules"] ?? .null } == [5, 100, 1000])
        let listed = try await server.send("GET", "/v1/schedules?limit=2", token: ada.token)
        #expect(listed.json["data"]?.arrayValue?.count == 2 && listed.json["has_more"] == true)
        await server.stop()
    }
}
