import Testing
import TroupeCore

@testable import TroupeApp

@Suite(.serialized, .timeLimit(.minutes(5))) struct RunRoutesTests {
    private func workflow(_ server: TestServer, _ account: Account, slug: String, steps: String) async throws {
        let reply = try await server.send("POST", "/v1/workflows", token: account.token, json: #"{"slug":"\#(slug)","name":"W","steps":\#(steps)}"#)
        guard reply.status == 201 else { throw TestFailure("workflow: \(reply.text)") }
    }

    /// A server with Ada and a started run of a two-step workflow ("a", then "b").
    private func twoStepRun() async throws -> (server: TestServer, ada: Account, id: String) {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        try await workflow(server, ada, slug: "two", steps: #"[{"id":"a","kind":"task"},{"id":"b","kind":"task","needs":["a"]}]"#)
        return (server, ada, try await startRun(server, ada.token, #"{"workflow":"two"}"#).id)
    }

    private func startRun(_ server: TestServer, _ token: String, _ body: String) async throws -> (id: String, reply: Reply) {
        let reply = try await server.send("POST", "/v1/runs", token: token, json: body)
        guard reply.status == 201, let id = reply.json["id"]?.stringValue else { throw TestFailure("run: \(reply.status) \(reply.text)") }
        return (id, reply)
    }

    /// A worker written in the test: claims one job of `queues` (long poll) and completes it.
    private func workOne(_ server: TestServer, _ token: String, queues: String, fail: Bool = false) async throws -> Reply {
        let claimed = try await server.send("POST", "/v1/jobs/claim", token: token, json: #"{"queues":\#(queues),"worker_id":"w","wait_ms":5000}"#)
        guard claimed.status == 200, let id = claimed.json["id"]?.stringValue, let lease = claimed.json["lease_token"]?.stringValue else {
            throw TestFailure("claim: \(claimed.status) \(claimed.text)")
        }
        if fail {
            return try await server.send("POST", "/v1/jobs/\(id)/fail", token: token,
                                         json: #"{"lease_token":"\#(lease)","error":{"code":"tests","message":"red"},"retryable":false}"#)
        }
        return try await server.send("POST", "/v1/jobs/\(id)/complete", token: token,
                                     json: #"{"lease_token":"\#(lease)","output":{"step":"\#(claimed.json["step_id"]?.stringValue ?? "")"}}"#)
    }

    @Test func shipFromTicketRunsToSucceededAfterApproval() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let (id, created) = try await startRun(server, ada.token, #"{"workflow":"ship-from-ticket","ticket":"JIRA-1","env":"preview","metadata":{"team":"core"}}"#)
        // API.md: the creation answers the run as created; it starts right after.
        #expect(created.json["status"] == "queued")
        #expect(try await server.send("GET", "/v1/runs/\(id)", token: ada.token).json["status"] == "running")
        #expect(created.json["workflow_version"] == 1)
        #expect(created.json["budget"]?["max_cost_usd"]?.isNull == true)
        let worker = try await server.createKey(ada, scopes: ["jobs:work", "runs:read"])
        for step in ["orchestrator", "dev", "sre", "qa"] {
            let done = try await workOne(server, worker.raw, queues: #"["orchestrator","dev","sre","qa"]"#)
            #expect(done.json["step_id"]?.stringValue == step)
            #expect(done.json["run_id"]?.stringValue == id)
        }
        let waiting = try await server.send("GET", "/v1/runs/\(id)", token: worker.raw)
        #expect(waiting.json["status"] == "awaiting_approval")
        #expect(waiting.json["steps"]?.arrayValue?.first?["output"] == ["step": "orchestrator"])
        #expect(waiting.json["steps"]?.arrayValue?.first?["attempts"] == 1)
        let approved = try await server.send("POST", "/v1/runs/\(id)/approve", token: ada.token, json: #"{"note":"ship it"}"#)
        #expect(approved.status == 200)
        #expect(approved.json["status"] == "succeeded")
        let phases = try await server.send("GET", "/v1/runs/\(id)/lifecycle", token: ada.token).json["phases"]?.arrayValue ?? []
        #expect(phases.map { $0["reached"] } == [true, true, true, true])
        #expect(phases.last?["current"] == true)
        #expect(try await server.send("POST", "/v1/runs/\(id)/cancel", token: ada.token).status == 409)
        await server.stop()
    }

    @Test func parallelStepsAreLeasedTogetherAndRejectFails() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        try await workflow(server, ada, slug: "fan", steps: #"""
            [{"id":"a","kind":"task"},{"id":"b","kind":"task"},{"id":"gate","kind":"approval","needs":["a","b"]}]
            """#)
        let (id, _) = try await startRun(server, ada.token, #"{"workflow":"fan"}"#)
        let first = try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["default"],"worker_id":"w1"}"#)
        let second = try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["default"],"worker_id":"w2"}"#)
        #expect(Set([first.json["step_id"], second.json["step_id"]].compactMap { $0?.stringValue }) == ["a", "b"], "both leased before either finished")
        #expect(try await server.send("POST", "/v1/runs/\(id)/approve", token: ada.token).status == 409, "not awaiting yet")
        for claimed in [first, second] {
            let lease = claimed.json["lease_token"]?.stringValue ?? ""
            #expect(try await server.send("POST", "/v1/jobs/\(claimed.json["id"]?.stringValue ?? "")/complete", token: ada.token,
                                          json: #"{"lease_token":"\#(lease)"}"#).status == 200)
        }
        let key = try await server.createKey(ada, scopes: ["runs:write"])
        #expect(try await server.send("POST", "/v1/runs/\(id)/approve", token: key.raw).status == 403, "a key approves as a member")
        let rejected = try await server.send("POST", "/v1/runs/\(id)/reject", token: ada.token, json: #"{"note":"no"}"#)
        #expect(rejected.json["status"] == "failed")
        #expect(rejected.json["failure"]?["code"] == "approval_rejected")
        await server.stop()
    }

    @Test func cancelStopsTheLeasedJobAndRetryRunsAgain() async throws {
        let (server, ada, id) = try await twoStepRun()
        let (job, lease, _) = try await claim(server, ada.token)
        let cancelled = try await server.send("POST", "/v1/runs/\(id)/cancel", token: ada.token)
        #expect(cancelled.json["status"] == "cancelled")
        #expect(try await server.send("POST", "/v1/jobs/\(job)/heartbeat", token: ada.token, json: #"{"lease_token":"\#(lease)"}"#).status == 409)
        #expect(try await server.send("POST", "/v1/jobs/\(job)/complete", token: ada.token, json: #"{"lease_token":"\#(lease)"}"#).status == 409)
        #expect(try await server.send("GET", "/v1/jobs/\(job)", token: ada.token).json["status"] == "cancelled")

        let retried = try await server.send("POST", "/v1/runs/\(id)/retry", token: ada.token, json: "{}")
        #expect(retried.status == 202)
        #expect(retried.json["status"] == "running")
        #expect(try await workOne(server, ada.token, queues: #"["default"]"#).json["status"] == "succeeded")
        // b fails for good: the run fails; retrying from b runs b alone again.
        #expect(try await workOne(server, ada.token, queues: #"["default"]"#, fail: true).json["status"] == "dead")
        let failed = try await server.send("GET", "/v1/runs/\(id)", token: ada.token)
        #expect(failed.json["status"] == "failed")
        #expect(failed.json["failure"]?["step_id"] == "b")
        #expect(try await server.send("POST", "/v1/runs/\(id)/retry", token: ada.token, json: #"{"from_step_id":"zz"}"#).status == 422)
        #expect(try await server.send("POST", "/v1/runs/\(id)/retry", token: ada.token, json: #"{"from_step_id":"b"}"#).status == 202)
        #expect(try await workOne(server, ada.token, queues: #"["default"]"#).json["step_id"] == "b")
        #expect(try await server.send("GET", "/v1/runs/\(id)", token: ada.token).json["status"] == "succeeded")
        await server.stop()
    }

    /// A job of the `default` queue leased to `worker`: its id, lease token and step.
    private func claim(_ server: TestServer, _ token: String, worker: String = "w") async throws -> (job: String, lease: String, step: String?) {
        let claimed = try await server.send("POST", "/v1/jobs/claim", token: token, json: #"{"queues":["default"],"worker_id":"\#(worker)"}"#)
        return (try #require(claimed.json["id"]?.stringValue), try #require(claimed.json["lease_token"]?.stringValue), claimed.json["step_id"]?.stringValue)
    }

    /// The server's count of committed transactions, from `/metrics`.
    private func transactions(_ server: TestServer) async throws -> Int {
        let text = try await server.send("GET", "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("troupe_commit_transactions_total ") }
        return Int(line?.split(separator: " ").last ?? "") ?? -1
    }

    /// Completing a run's job and starting the run's next step are one commit; two workers
    /// completing the same lease at once get one 200 and one 409, and the run moves once.
    @Test func aJobsCompletionAndItsRunsNextStepCommitTogether() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        try await workflow(server, ada, slug: "two", steps: #"[{"id":"a","kind":"task"},{"id":"b","kind":"task","needs":["a"]},{"id":"c","kind":"task","needs":["b"]}]"#)
        // Background work (the keys' last use, usage) may commit at any moment too: of three
        // completions, the one with nothing beside it shows one transaction (two before).
        var deltas: [Int] = []
        for _ in 0..<3 {
            let (other, _) = try await startRun(server, ada.token, #"{"workflow":"two"}"#)
            let job = try await claim(server, ada.token)
            try await Task.sleep(for: .milliseconds(100))
            let before = try await transactions(server)
            #expect(try await server.send("POST", "/v1/jobs/\(job.job)/complete", token: ada.token, json: #"{"lease_token":"\#(job.lease)"}"#).status == 200)
            deltas.append(try await transactions(server) - before)
            #expect(try await server.send("POST", "/v1/jobs/\(job.job)/complete", token: ada.token, json: #"{"lease_token":"\#(job.lease)"}"#).status == 409)
            _ = try await server.send("POST", "/v1/runs/\(other)/cancel", token: ada.token)
        }
        #expect(deltas.min() == 1, "one transaction for the completion and the run's next step (\(deltas))")

        let (id, _) = try await startRun(server, ada.token, #"{"workflow":"two"}"#)
        let first = try await claim(server, ada.token)
        #expect(try await server.send("POST", "/v1/jobs/\(first.job)/complete", token: ada.token, json: #"{"lease_token":"\#(first.lease)"}"#).status == 200)
        let second = try await claim(server, ada.token)
        #expect(second.step == "b", "the run's next step was queued in that commit")
        async let one = server.send("POST", "/v1/jobs/\(second.job)/complete", token: ada.token, json: #"{"lease_token":"\#(second.lease)","output":{"n":1}}"#)
        async let two = server.send("POST", "/v1/jobs/\(second.job)/complete", token: ada.token, json: #"{"lease_token":"\#(second.lease)","output":{"n":2}}"#)
        #expect(try await [one.status, two.status].sorted() == [200, 409])
        let run = try await server.send("GET", "/v1/runs/\(id)", token: ada.token).json
        #expect(run["steps"]?.arrayValue?.map { $0["status"]?.stringValue ?? "" } == ["succeeded", "succeeded", "running"])
        #expect(try await claim(server, ada.token).step == "c")
        #expect(try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["default"],"worker_id":"w"}"#).status == 204,
                "the run moved once")
        await server.stop()
    }

    /// `claim_next` on a completion leases the next job in the same answer: one request a step.
    @Test func claimNextLeasesTheNextStepInTheCompletionsAnswer() async throws {
        let (server, ada, id) = try await twoStepRun()
        let (job, lease, _) = try await claim(server, ada.token, worker: "w7")
        for (body, status, field) in [(#""now""#, 400, nil), (#"{"queues":[]}"#, 422, "claim_next.queues"), (#"{"queues":["default"],"lease_ms":5}"#, 422, "claim_next.lease_ms"),
                                      (#"{"queues":["default"],"color":1}"#, 400, nil)] {
            let refused = try await server.send("POST", "/v1/jobs/\(job)/complete", token: ada.token, json: #"{"lease_token":"\#(lease)","claim_next":\#(body)}"#)
            #expect(refused.status == status, "\(body)")
            if let field { #expect(refused.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == .string(field)) }
        }
        let done = try await server.send("POST", "/v1/jobs/\(job)/complete", token: ada.token,
                                         json: #"{"lease_token":"\#(lease)","claim_next":{"queues":["default"],"wait_ms":1000}}"#)
        #expect(done.status == 200)
        #expect(done.json["status"] == "succeeded")
        let next = try #require(done.json["next_job"]?.objectValue)
        #expect(next["step_id"] == "b")
        #expect(next["status"] == "leased")
        let nextLease = try #require(next["lease_token"]?.stringValue)
        let nextID = try #require(next["id"]?.stringValue)
        #expect(try await server.send("GET", "/v1/jobs/\(nextID)", token: ada.token).json["worker_id"] == "w7", "leased to the same worker")
        let last = try await server.send("POST", "/v1/jobs/\(nextID)/complete", token: ada.token,
                                         json: #"{"lease_token":"\#(nextLease)","claim_next":{"queues":["default"]}}"#)
        #expect(last.json["next_job"]?.isNull == true, "nothing left to claim")
        #expect(try await finishedRun(server, ada.token, id).json["status"] == "succeeded")
        await server.stop()
    }

    /// The run as it is once finished (polled for up to 10 s).
    private func finishedRun(_ server: TestServer, _ token: String, _ id: String) async throws -> Reply {
        var reply = try await server.send("GET", "/v1/runs/\(id)", token: token)
        for _ in 0..<1_000 where !["succeeded", "failed", "cancelled"].contains(reply.json["status"]?.stringValue ?? "") {
            try await Task.sleep(for: .milliseconds(10))
            reply = try await server.send("GET", "/v1/runs/\(id)", token: token)
        }
        return reply
    }

    /// A sandbox step runs its argv in a fresh sandbox of the run: after a task step, its exit 0
    /// succeeds the run; its sandbox, listed with the run's id, ends with it.
    @Test func aSandboxStepRunsItsCommandAfterATask() async throws {
        let server = try await TestServer.start { $0.sandboxExec = true }
        let ada = try await server.signUp()
        try await workflow(server, ada, slug: "box", steps: #"""
            [{"id":"a","kind":"task"},{"id":"sh","kind":"sandbox","needs":["a"],"argv":["sh","-c","echo built"],"resource_limits":{"memory_mb":256}}]
            """#)
        let (id, _) = try await startRun(server, ada.token, #"{"workflow":"box"}"#)
        #expect(try await workOne(server, ada.token, queues: #"["default"]"#).json["status"] == "succeeded")
        let done = try await finishedRun(server, ada.token, id)
        #expect(done.json["status"] == "succeeded")
        let step = try #require(done.json["steps"]?.arrayValue?.last)
        #expect(step["output"]?["stdout"] == "built\n")
        #expect(step["attempts"] == 1)
        let listed = try await server.send("GET", "/v1/sandboxes", token: ada.token)
        let box = try #require(listed.json["data"]?.arrayValue?.first { $0["run_id"]?.stringValue == id })
        #expect(box["status"] == "terminated")
        #expect(box["resource_limits"]?["memory_mb"] == 256)
        await server.stop()
    }

    /// Exec off: the step fails at once, saying so; limits out of range are refused up front.
    @Test func aSandboxStepWithExecOffFailsItsRunSayingSo() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let tooBig = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"""
            {"slug":"big","name":"W","steps":[{"id":"sh","kind":"sandbox","argv":["true"],"resource_limits":{"memory_mb":999999}}]}
            """#)
        #expect(tooBig.status == 422)
        #expect(tooBig.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == "steps[0].resource_limits.memory_mb")
        try await workflow(server, ada, slug: "box", steps: #"[{"id":"a","kind":"task"},{"id":"sh","kind":"sandbox","argv":["true"]}]"#)
        let (id, _) = try await startRun(server, ada.token, #"{"workflow":"box"}"#)
        let failed = try await finishedRun(server, ada.token, id)
        #expect(failed.json["status"] == "failed")
        #expect(failed.json["failure"]?["step_id"] == "sh")
        #expect(failed.json["steps"]?.arrayValue?.last?["error"]?["code"] == "forbidden")
        #expect(failed.json["steps"]?.arrayValue?.first?["status"] == "cancelled")
        #expect(try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["default"],"worker_id":"w"}"#).status == 204)
        await server.stop()
    }

    @Test func dryRunsCapsBadInputAndOtherWorkspaces() async throws {
        let server = try await TestServer.start { $0.plans[.starter]?.activeRuns = 1 }
        let ada = try await server.signUp()
        let eve = try await server.signUp()
        try await workflow(server, ada, slug: "one", steps: #"[{"id":"a","kind":"task","queue":"solo"}]"#)
        let (planned, dry) = try await startRun(server, ada.token, #"{"workflow":"one","dry_run":true}"#)
        #expect(dry.json["status"] == "planned")
        #expect(dry.json["steps"]?.arrayValue?.first?["status"] == "pending")
        #expect(try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["solo"],"worker_id":"w"}"#).status == 204)

        let (active, _) = try await startRun(server, ada.token, #"{"workflow":"one"}"#)
        let capped = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"one"}"#)
        #expect(capped.status == 429)
        #expect(capped.headers["Retry-After"] != nil)
        #expect(capped.json["error"]?["message"]?.stringValue?.contains("1 active runs") == true)

        let bad = try await server.send("POST", "/v1/runs", token: ada.token,
                                        json: #"{"workflow":"nope","env":"moon","metadata":{"n":1},"budget":{"max_cost_usd":-1}}"#)
        #expect(bad.status == 422)
        #expect(Set(bad.json["error"]?["field_errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
            == ["workflow", "env", "metadata.n", "budget.max_cost_usd"])
        #expect(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"one","input":[1]}"#).status == 400)
        #expect(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"one","dry_run":"yes"}"#).status == 400)

        let listed = try await server.send("GET", "/v1/runs?status=running&workflow=one", token: ada.token)
        #expect(listed.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [active])
        #expect(try await server.send("GET", "/v1/runs?workflow=one", token: ada.token).json["data"]?.arrayValue?.count == 2)
        #expect(try await server.send("GET", "/v1/runs?status=sideways", token: ada.token).status == 400)
        for (method, path) in [("GET", "/v1/runs/\(planned)"), ("GET", "/v1/runs/\(active)/lifecycle"), ("POST", "/v1/runs/\(active)/cancel"),
                               ("POST", "/v1/runs/\(active)/approve")] {
            #expect(try await server.send(method, path, token: eve.token).status == 404, "\(method) \(path)")
        }
        #expect(try await server.send("GET", "/v1/runs", token: eve.token).json["data"]?.arrayValue?.isEmpty == true)
        await server.stop()
    }
}

/// A guessed or foreign run id wakes nothing: the run is looked up by `(workspace_id, id)`
/// before its actor is activated.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ForeignRunIDTests {
    @Test func anotherWorkspacesRunIDDoesNotActivateItsActor() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let grace = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows", token: ada.token,
                                      json: #"{"slug":"w","name":"W","steps":[{"id":"a","kind":"approval"}]}"#).status == 201)
        let id = try #require(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"w"}"#).json["id"]?.stringValue)
        let runs = server.server.app.runtime.runs.registry
        _ = runs.passivateAll()
        #expect(!runs.isResident(id))
        for target in ["/v1/runs/\(id)", "/v1/runs/\(id)/costs"] {
            #expect(try await server.send("GET", target, token: grace.token).status == 404)
        }
        #expect(try await server.send("POST", "/v1/runs/\(id)/approve", token: grace.token, json: "{}").status == 404)
        #expect(!runs.isResident(id), "another workspace's request woke nothing")
        #expect(try await server.send("GET", "/v1/runs/\(id)", token: ada.token).status == 200)
        #expect(runs.isResident(id))
        await server.stop()
    }
}
