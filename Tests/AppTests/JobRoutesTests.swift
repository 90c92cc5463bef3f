import Foundation
import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct JobRoutesTests {
    private func createJob(_ server: TestServer, _ token: String, queue: String = "q", maxAttempts: Int = 3) async throws -> String {
        let reply = try await server.send("POST", "/v1/jobs", token: token,
                                          json: #"{"queue":"\#(queue)","input":{"n":1},"max_attempts":\#(maxAttempts)}"#)
        guard reply.status == 201, let id = reply.json["id"]?.stringValue else { throw TestFailure("create job: \(reply.status) \(reply.text)") }
        return id
    }

    private func claim(_ server: TestServer, _ token: String, queues: String = #"["q"]"#, wait: Int = 0, lease: Int = 30_000) async throws -> Reply {
        try await server.send("POST", "/v1/jobs/claim", token: token,
                              json: #"{"queues":\#(queues),"worker_id":"w1","wait_ms":\#(wait),"lease_ms":\#(lease)}"#)
    }

    @Test func claimHeartbeatCompleteOnce() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let first = try await createJob(server, ada.token)
        let second = try await createJob(server, ada.token)
        let claimed = try await claim(server, ada.token)
        #expect(claimed.status == 200)
        #expect(claimed.json["id"]?.stringValue == first, "oldest first")
        #expect(claimed.json["status"] == "leased")
        #expect(claimed.json["attempts"] == 1)
        #expect(claimed.json["worker_id"] == "w1")
        let token = try #require(claimed.json["lease_token"]?.stringValue)
        #expect(try await server.send("GET", "/v1/jobs/\(first)", token: ada.token).json["lease_token"]?.isNull == true, "shown only to the claimer")
        #expect(try await claim(server, ada.token).json["id"]?.stringValue == second)
        #expect(try await claim(server, ada.token).status == 204, "nothing left")

        let beat = try await server.send("POST", "/v1/jobs/\(first)/heartbeat", token: ada.token, json: #"{"lease_token":"\#(token)"}"#)
        #expect(beat.status == 200)
        #expect(beat.json["lease_expires_at"]?.stringValue != nil)
        #expect(try await server.send("POST", "/v1/jobs/\(first)/complete", token: ada.token, json: #"{"lease_token":"lease_wrong"}"#).status == 409)
        let done = try await server.send("POST", "/v1/jobs/\(first)/complete", token: ada.token,
                                         json: #"{"lease_token":"\#(token)","output":{"ok":true},"usage":{"input_tokens":10,"output_tokens":5,"cost_usd":0.02}}"#)
        #expect(done.status == 200)
        #expect(done.json["status"] == "succeeded")
        #expect(done.json["output"] == ["ok": true])
        #expect(done.json["usage"]?["cost_usd"] == .double(0.02))
        let again = try await server.send("POST", "/v1/jobs/\(first)/complete", token: ada.token, json: #"{"lease_token":"\#(token)"}"#)
        #expect(again.status == 409)
        #expect(again.errorCode == "conflict")
        #expect(try await server.send("POST", "/v1/jobs/\(first)/heartbeat", token: ada.token, json: #"{"lease_token":"\#(token)"}"#).status == 409)
        await server.stop()
    }

    /// A worker's half megabyte of output would be copied into the run, its event, every stream and
    /// every webhook: an output over 64 KiB is refused (422) and the job stays leased; one of
    /// another type is a 400; 64 KiB is taken.
    @Test func anOutputOverSixtyFourKiBIsRefusedAndTheJobStaysLeased() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let id = try await createJob(server, ada.token)
        let lease = try #require(try await claim(server, ada.token).json["lease_token"]?.stringValue)
        let huge = String(repeating: "x", count: 512 << 10)  // under the 1 MiB body limit
        let refused = try await server.send("POST", "/v1/jobs/\(id)/complete", token: ada.token,
                                            json: #"{"lease_token":"\#(lease)","output":{"blob":"\#(huge)"}}"#)
        #expect(refused.status == 422)
        #expect(refused.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == "output")
        let wrongType = try await server.send("POST", "/v1/jobs/\(id)/complete", token: ada.token, json: #"{"lease_token":"\#(lease)","output":[1]}"#)
        #expect(wrongType.status == 400)
        #expect(try await server.send("GET", "/v1/jobs/\(id)", token: ada.token).json["status"] == "leased", "nothing was stored")
        let fits = String(repeating: "y", count: (64 << 10) - 20)
        let done = try await server.send("POST", "/v1/jobs/\(id)/complete", token: ada.token,
                                         json: #"{"lease_token":"\#(lease)","output":{"blob":"\#(fits)"}}"#)
        #expect(done.status == 200, "\(done.text.prefix(300))")
        await server.stop()
    }

    @Test func theOldestJobOfAllTheQueuesComesFirst() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        var order: [String] = []
        for queue in ["b", "a", "b", "a"] {
            order.append(try await createJob(server, ada.token, queue: queue))
            clock.advance(by: .milliseconds(1))
        }
        var claimed: [String] = []
        for _ in 0..<4 {
            claimed.append(try #require(try await claim(server, ada.token, queues: #"["a","b"]"#).json["id"]?.stringValue))
        }
        #expect(claimed == order)
        await server.stop()
    }

    @Test func concurrentWorkersGetOneLeaseEachAndOneCompletion() async throws {
        let server = try await TestServer.start { $0.plans[.starter]?.requestsPerMinute = 10_000 }
        let ada = try await server.signUp()
        var created: Set<String> = []
        for _ in 0..<5 { created.insert(try await createJob(server, ada.token)) }
        let claims = try await withThrowingTaskGroup(of: Reply.self) { group in
            for _ in 0..<20 { group.addTask { try await claim(server, ada.token) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let leased = claims.filter { $0.status == 200 }
        #expect(leased.count == 5)
        #expect(Set(leased.compactMap { $0.json["id"]?.stringValue }) == created)
        #expect(claims.filter { $0.status == 204 }.count == 15)

        let job = try #require(leased.first)
        let id = try #require(job.json["id"]?.stringValue)
        let token = try #require(job.json["lease_token"]?.stringValue)
        let completions = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try await server.send("POST", "/v1/jobs/\(id)/complete", token: ada.token, json: #"{"lease_token":"\#(token)"}"#).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(completions.filter { $0 == 200 }.count == 1)
        #expect(completions.filter { $0 == 409 }.count == 15)
        await server.stop()
    }

    @Test func aLongPollWakesWhenAJobArrives() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let started = ContinuousClock.now
        let empty = try await claim(server, ada.token, wait: 300)
        #expect(empty.status == 204)
        #expect(ContinuousClock.now - started >= .milliseconds(300))

        let waiting = Task { try await claim(server, ada.token, queues: #"["slow","q"]"#, wait: 10_000) }
        try await Task.sleep(for: .milliseconds(200))
        let posted = ContinuousClock.now
        let id = try await createJob(server, ada.token)
        let reply = try await waiting.value
        #expect(reply.status == 200)
        #expect(reply.json["id"]?.stringValue == id)
        #expect(ContinuousClock.now - posted < .seconds(2), "woken by the enqueue, not by the 10 s wait")
        await server.stop()
    }

    @Test func failuresBackOffDieAndComeBackFromTheDLQ() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        let id = try await createJob(server, ada.token, maxAttempts: 2)
        let token1 = try #require(try await claim(server, ada.token).json["lease_token"]?.stringValue)
        let failed = try await server.send("POST", "/v1/jobs/\(id)/fail", token: ada.token,
                                           json: #"{"lease_token":"\#(token1)","error":{"code":"oops","message":"disk full"}}"#)
        // API.md: queued again, available once its back-off has passed.
        #expect(failed.json["status"] == "queued")
        let availableAt = try #require(failed.json["available_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)))
        #expect(clock.now < availableAt)
        #expect(failed.json["error"]?["code"] == "oops")
        #expect(try await claim(server, ada.token).status == 204, "backing off")
        clock.advance(by: .seconds(2))
        let token2 = try #require(try await claim(server, ada.token).json["lease_token"]?.stringValue)
        // The first attempt's token is stale now.
        #expect(try await server.send("POST", "/v1/jobs/\(id)/complete", token: ada.token, json: #"{"lease_token":"\#(token1)"}"#).status == 409)
        let dead = try await server.send("POST", "/v1/jobs/\(id)/fail", token: ada.token,
                                         json: #"{"lease_token":"\#(token2)","error":{"code":"oops","message":"again"},"retryable":true}"#)
        #expect(dead.json["status"] == "dead", "no attempt left")
        let dlq = try await server.send("GET", "/v1/dlq", token: ada.token)
        #expect(dlq.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])

        let retried = try await server.send("POST", "/v1/dlq/\(id)/retry", token: ada.token)
        #expect(retried.json["status"] == "queued")
        #expect(retried.json["attempts"] == 0)
        #expect(try await server.send("POST", "/v1/dlq/\(id)/retry", token: ada.token).status == 409)
        #expect(try await server.send("DELETE", "/v1/dlq/\(id)", token: ada.token).status == 409, "not dead")
        let token3 = try #require(try await claim(server, ada.token).json["lease_token"]?.stringValue)
        let fatal = try await server.send("POST", "/v1/jobs/\(id)/fail", token: ada.token,
                                          json: #"{"lease_token":"\#(token3)","error":{"code":"bad_input","message":"never"},"retryable":false}"#)
        #expect(fatal.json["status"] == "dead", "not retryable")
        #expect(try await server.send("DELETE", "/v1/dlq/\(id)", token: ada.token).status == 204)
        #expect(try await server.send("GET", "/v1/jobs/\(id)", token: ada.token).status == 404)
        await server.stop()
    }

    @Test func anExpiredLeaseCountsAsAFailedAttempt() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        let id = try await createJob(server, ada.token)
        let token = try #require(try await claim(server, ada.token, lease: 1000).json["lease_token"]?.stringValue)
        clock.advance(by: .seconds(2))
        #expect(try await server.send("POST", "/v1/jobs/\(id)/heartbeat", token: ada.token, json: #"{"lease_token":"\#(token)"}"#).status == 409)
        // The server's once-a-second sweep counts the attempt.
        var job = try await server.send("GET", "/v1/jobs/\(id)", token: ada.token)
        for _ in 0..<30 where job.json["status"] == "leased" {
            try await Task.sleep(for: .milliseconds(100))
            job = try await server.send("GET", "/v1/jobs/\(id)", token: ada.token)
        }
        #expect(job.json["status"] == "queued")
        #expect(job.json["attempts"] == 1)
        #expect(job.json["error"]?["code"] == "lease_expired")
        await server.stop()
    }

    @Test func badInputScopesAndOtherWorkspaces() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let eve = try await server.signUp()
        #expect(try await claim(server, ada.token, wait: 30_001).status == 422)
        #expect(try await claim(server, ada.token, queues: "[]").status == 422)
        #expect(try await claim(server, ada.token, lease: 10).status == 422)
        #expect(try await claim(server, ada.token, queues: "[1]").status == 400)
        #expect(try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["q"]}"#).status == 422)
        #expect(try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"queue":"q","input":[1]}"#).status == 400)
        #expect(try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"input":{}}"#).status == 422)
        #expect(try await server.send("GET", "/v1/jobs?status=lost", token: ada.token).status == 400)

        let id = try await createJob(server, ada.token)
        let reader = try await server.createKey(ada, scopes: ["jobs:read"])
        #expect(try await server.send("GET", "/v1/jobs?status=queued&queue=q", token: reader.raw).json["data"]?.arrayValue?.count == 1)
        #expect(try await claim(server, reader.raw).json["error"]?["required_scope"] == "jobs:work")
        for (method, path, body) in [("GET", "/v1/jobs/\(id)", nil), ("POST", "/v1/jobs/\(id)/heartbeat", #"{"lease_token":"x"}"#),
                                     ("POST", "/v1/jobs/\(id)/complete", #"{"lease_token":"x"}"#),
                                     ("POST", "/v1/jobs/\(id)/fail", #"{"lease_token":"x","error":{"code":"c","message":"m"}}"#),
                                     ("POST", "/v1/dlq/\(id)/retry", nil), ("DELETE", "/v1/dlq/\(id)", nil)] as [(String, String, String?)] {
            #expect(try await server.send(method, path, token: eve.token, json: body).status == 404, "\(method) \(path)")
        }
        #expect(try await claim(server, eve.token).status == 204, "another workspace's queue is not Eve's")
        await server.stop()
    }
}
