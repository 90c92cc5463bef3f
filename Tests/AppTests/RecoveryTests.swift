import Testing
import TroupeCore
import TroupePersistence

/// Start-up recovery never crash-loops: a stored record it cannot decode or apply is set aside
/// (counted, logged once with its id) and everything else is served.
@Suite(.serialized, .timeLimit(.minutes(5))) struct RecoveryTests {
    private func run(_ server: TestServer, _ token: String, _ workflow: String) async throws -> String {
        let reply = try await server.send("POST", "/v1/runs", token: token, json: #"{"workflow":"\#(workflow)"}"#)
        return try #require(reply.json["id"]?.stringValue, "\(reply.status) \(reply.text)")
    }

    /// The id of the job of `runID`'s step `stepID`.
    private func job(_ server: TestServer, _ token: String, of runID: String, step stepID: String) async throws -> String {
        let jobs = try await server.send("GET", "/v1/jobs?limit=200", token: token).json["data"]?.arrayValue ?? []
        let job = jobs.first { $0["run_id"]?.stringValue == runID && $0["step_id"]?.stringValue == stepID }
        return try #require(job?["id"]?.stringValue)
    }

    /// A workspace whose snapshot cannot be read is left out of its members' workspace lists,
    /// set aside and counted, and their other workspaces are listed.
    @Test func aDamagedWorkspaceIsSetAsideFromItsMembersLists() async throws {
        var server = try await TestServer.start()
        let ada = try await server.signUp()
        let created = try await server.send("POST", "/v1/workspaces", token: ada.token, json: #"{"name":"Second"}"#)
        let second = try #require(created.json["id"]?.stringValue)
        await server.stopKeepingDatabase()
        let db = try Database(path: server.databasePath)
        try db.execute("UPDATE snapshots SET state = X'00FF00' WHERE kind = 'tenant' AND id = ?", [.text(second)])
        db.close()

        server = try await server.startAgain()
        let me = try await server.send("GET", "/v1/auth/me", token: ada.token)
        #expect(me.status == 200)
        #expect(me.json["workspaces"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ada.workspaceID])
        let metrics = try await server.send("GET", "/metrics").text
        #expect(metrics.contains(#"troupe_records_set_aside_total{kind="tenant"} 1"#), "\(metrics)")
        await server.stop()
    }

    @Test func aDamagedRunOrJobIsSetAsideAndEveryOtherRunIsServed() async throws {
        let log = MemoryLogSink()
        var server = try await TestServer.start(eventLog: log)
        let ada = try await server.signUp()
        for (slug, steps) in [("waits", #"[{"id":"w","kind":"wait","duration_ms":3600000}]"#),
                              ("one", #"[{"id":"t","kind":"task"}]"#),
                              ("pair", #"[{"id":"a","kind":"task","queue":"pair"},{"id":"b","kind":"task","queue":"pair"}]"#)] {
            #expect(try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"\#(slug)","name":"W","steps":\#(steps)}"#).status == 201)
        }
        let waiting = try await run(server, ada.token, "waits")        // its snapshot gets damaged
        let poisonedJobRun = try await run(server, ada.token, "one")   // its queued job's input gets damaged
        let healthy = try await run(server, ada.token, "one")
        let handedOver = try await run(server, ada.token, "one")       // finished job not taken in; its snapshot damaged
        let huge = try await run(server, ada.token, "pair")            // two jobs stored with 9e18 input tokens each
        let poisonedJob = try await job(server, ada.token, of: poisonedJobRun, step: "t")
        let healthyJob = try await job(server, ada.token, of: healthy, step: "t")
        let handedOverJob = try await job(server, ada.token, of: handedOver, step: "t")
        let hugeJobs = [try await job(server, ada.token, of: huge, step: "a"), try await job(server, ada.token, of: huge, step: "b")]
        await server.stopKeepingDatabase()

        // What a damaged file, or an older server that accepted any number, leaves behind.
        let db = try Database(path: server.databasePath)
        try db.execute("UPDATE snapshots SET state = CAST('{\"kind\":\"wait\" not json' AS BLOB) WHERE kind = 'run' AND id = ?", [.text(waiting)])
        try db.execute("UPDATE jobs SET input = X'7B7B7B' WHERE id = ?", [.text(poisonedJob)])
        try db.execute("UPDATE jobs SET status = 'succeeded', run_notified = 0 WHERE id = ?", [.text(handedOverJob)])
        try db.execute("UPDATE snapshots SET state = X'00FF00' WHERE kind = 'run' AND id = ?", [.text(handedOver)])
        for id in hugeJobs {
            try db.execute("""
                UPDATE jobs SET status = 'succeeded', run_notified = 0, usage = CAST('{"input_tokens":9000000000000000000}' AS BLOB) WHERE id = ?
                """, [.text(id)])
        }
        db.close()

        server = try await server.startAgain()
        #expect(try await server.send("GET", "/healthz").status == 200)
        let big = try await server.send("GET", "/v1/runs/\(huge)", token: ada.token)
        #expect(big.json["status"] == "succeeded", "both jobs taken in at start")
        #expect(big.json["usage"]?["input_tokens"] == .int(.max), "the total saturates instead of trapping")
        #expect(try await server.send("GET", "/v1/runs/\(healthy)", token: ada.token).json["status"] == "running")
        #expect(try await server.send("GET", "/v1/runs/\(poisonedJobRun)", token: ada.token).status == 200)
        let damaged = try await server.send("GET", "/v1/runs/\(waiting)", token: ada.token)
        #expect(damaged.status >= 500 && damaged.status != 502, "a damaged run is refused, not served as something else")
        #expect(try await server.send("GET", "/healthz").status == 200)

        let listed = Set((try await server.send("GET", "/v1/runs", token: ada.token).json["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
        #expect(listed == [poisonedJobRun, healthy, huge], "the list skips the damaged runs and keeps the rest")
        #expect(try await server.send("GET", "/v1/runs?workflow=one", token: ada.token).status == 200)
        #expect(try await server.send("GET", "/v1/usage", token: ada.token).status == 200)
        #expect(try await server.send("GET", "/v1/jobs", token: ada.token).status == 200)
        // The damaged job is at the head of the default queue: the claim passes it over.
        let claimed = try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["default"],"worker_id":"w"}"#)
        #expect(claimed.json["id"]?.stringValue == healthyJob)

        let metrics = try await server.send("GET", "/metrics").text
        #expect(metrics.contains(#"troupe_records_set_aside_total{kind="run"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"troupe_records_set_aside_total{kind="job"} 1"#))
        #expect(metrics.contains(#"troupe_records_set_aside_total{kind="job_handover"} 1"#))
        let setAside = log.entries.filter { $0["event"] == "record.set_aside" }.compactMap { $0["id"]?.stringValue }
        #expect(setAside.filter { $0 == waiting }.count == 1, "logged once with its id: \(setAside)")
        #expect(setAside.contains(poisonedJob))
        #expect(setAside.contains(handedOverJob))

        // And again: a second start meets the same rows and still comes up.
        await server.stopKeepingDatabase()
        server = try await server.startAgain()
        #expect(try await server.send("GET", "/v1/runs/\(healthy)", token: ada.token).status == 200)
        await server.stop()
    }
}
