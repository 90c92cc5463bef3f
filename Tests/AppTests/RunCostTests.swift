import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct RunCostTests {
    private let chain = #"[{"id":"a","kind":"task","queue":"qa"},{"id":"b","kind":"task","queue":"qb","needs":["a"]},{"id":"c","kind":"task","queue":"qc","needs":["b"]}]"#

    /// Claims the next job of `queue` and completes it reporting `cost` and tokens.
    private func complete(_ server: TestServer, _ token: String, queue: String, cost: Double) async throws -> Reply {
        let claimed = try await server.send("POST", "/v1/jobs/claim", token: token, json: #"{"queues":["\#(queue)"],"worker_id":"w","wait_ms":2000}"#)
        let id = try #require(claimed.json["id"]?.stringValue, "\(claimed.status) \(claimed.text)")
        let lease = try #require(claimed.json["lease_token"]?.stringValue)
        return try await server.send("POST", "/v1/jobs/\(id)/complete", token: token, json: #"""
            {"lease_token":"\#(lease)","usage":{"input_tokens":100,"output_tokens":40,"cost_usd":\#(cost)}}
            """#)
    }

    @Test func costsRollUpAndABudgetStopsTheRun() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows", token: ada.token,
                                      json: #"{"slug":"chain","name":"Chain","steps":\#(chain),"cost_cap_usd":1.0}"#).status == 201)
        let created = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"chain"}"#)
        let run = try #require(created.json["id"]?.stringValue)
        #expect(created.json["budget"]?["max_cost_usd"] == .double(1.0), "the workflow's cost cap is the default budget")

        #expect(try await complete(server, ada.token, queue: "qa", cost: 0.5).status == 200)
        let costs = try await server.send("GET", "/v1/runs/\(run)/costs", token: ada.token)
        #expect(costs.json["total_cost_usd"] == .double(0.5))
        #expect(costs.json["steps"]?.arrayValue?.first == ["step_id": "a", "input_tokens": 100, "output_tokens": 40, "cost_usd": .double(0.5)])
        let running = try await server.send("GET", "/v1/runs/\(run)", token: ada.token)
        #expect(running.json["cost_usd"] == .double(0.5))
        #expect(running.json["usage"] == ["input_tokens": 100, "output_tokens": 40])

        // b takes the run past its $1.00: it fails, and c's job is cancelled.
        #expect(try await complete(server, ada.token, queue: "qb", cost: 0.7).status == 200)
        let stopped = try await server.send("GET", "/v1/runs/\(run)", token: ada.token)
        #expect(stopped.json["status"] == "failed")
        #expect(stopped.json["failure"]?["code"] == "budget_exceeded")
        #expect(stopped.json["steps"]?.arrayValue?.last?["status"] == "cancelled")
        #expect(try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["qc"],"worker_id":"w"}"#).status == 204)

        // Usage for today: the run, its two completed jobs, their tokens and cost, by workflow.
        let usage = try await server.send("GET", "/v1/usage", token: ada.token)
        #expect(usage.json["runs_created"] == 1)
        #expect(usage.json["jobs_completed"] == 2)
        #expect(usage.json["input_tokens"] == 200)
        #expect(usage.json["output_tokens"] == 80)
        #expect(usage.json["cost_usd"]?.doubleValue.map { abs($0 - 1.2) < 1e-9 } == true)
        #expect(usage.json["by_workflow"]?["chain"]?["runs"] == 1)
        await server.stop()
    }

    @Test func aLowerBudgetFailsARunAlreadyPastIt() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"chain","name":"Chain","steps":\#(chain)}"#).status == 201)
        let run = try #require(try await server.send("POST", "/v1/runs", token: ada.token,
                                                     json: #"{"workflow":"chain","budget":{"token_budget":1000}}"#).json["id"]?.stringValue)
        #expect(try await complete(server, ada.token, queue: "qa", cost: 0.1).status == 200)
        let raised = try await server.send("PUT", "/v1/runs/\(run)/budget", token: ada.token, json: #"{"max_cost_usd":5}"#)
        #expect(raised.status == 200)
        #expect(raised.json["budget"]?["max_cost_usd"]?.doubleValue == 5)
        #expect(raised.json["budget"]?["token_budget"]?.doubleValue == 1000, "fields not sent are kept")
        #expect(raised.json["status"] == "running")
        let lowered = try await server.send("PUT", "/v1/runs/\(run)/budget", token: ada.token, json: #"{"token_budget":100}"#)
        #expect(lowered.json["status"] == "failed")
        #expect(lowered.json["failure"]?["code"] == "budget_exceeded")
        #expect(try await server.send("PUT", "/v1/runs/\(run)/budget", token: ada.token, json: #"{"max_cost_usd":-1}"#).status == 422)
        #expect(try await server.send("PUT", "/v1/runs/\(run)/budget", token: ada.token, json: #"{"max_cost_usd":"lots"}"#).status == 400)
        #expect(try await server.send("PUT", "/v1/runs/run_nothing/budget", token: ada.token, json: #"{"max_cost_usd":1}"#).status == 404)
        await server.stop()
    }
}
