import Testing
import TroupeCore

/// Every number a client can send, on every route that takes one (body or query), at the
/// values that break careless conversions: each one out of the field's range is refused (400
/// or 422), the server stays up after each, and it starts again afterwards.
@Suite(.serialized, .timeLimit(.minutes(5))) struct NumericInputTests {
    /// ±1e19 and 2^63 (past Int64), 2^64, ±1e308 (past any integer), −1, 0.5, 1e-300, 2^53+1
    /// (past a double's integers).
    static let hostile = ["1e19", "-1e19", "9223372036854775808", "18446744073709551616", "1e308", "-1e308", "-1", "0.5", "1e-300",
                          "9007199254740993"]

    /// Of ``hostile``, the values in range for a sum of money (a positive fraction is a price);
    /// a token budget goes up to 10^18, past 2^53.
    static let fractions: Set<String> = ["0.5", "1e-300"]

    /// A request whose body or query carries `number` where a client may put one; every
    /// hostile value but those in `inRange` must be refused (400 or 422).
    struct Probe {
        let method: String
        let target: (String) -> String
        let body: (String) -> String?
        var inRange: Set<String> = []
    }

    @Test func everyNumericFieldRejectsHostileNumbersWithoutA5xx() async throws {
        var server = try await TestServer.start { config in
            config.sandboxExec = true
            config.plans[.starter]?.requestsPerMinute = nil
            config.plans[.starter]?.requestsPerDay = nil
        }
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let run = try #require(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#)
            .json["id"]?.stringValue)
        let step = #"{"id":"s","kind":"task","timeout_ms":1000,"max_attempts":2}"#
        var probes: [Probe] = [
            Probe(method: "POST", target: { _ in "/v1/jobs" }, body: { #"{"queue":"q","max_attempts":\#($0)}"# }),
            Probe(method: "POST", target: { _ in "/v1/jobs" }, body: { #"{"queue":"q","timeout_ms":\#($0)}"# }),
            Probe(method: "POST", target: { _ in "/v1/jobs/claim" }, body: { #"{"queues":["none"],"worker_id":"w","wait_ms":\#($0)}"# }),
            Probe(method: "POST", target: { _ in "/v1/jobs/claim" }, body: { #"{"queues":["none"],"worker_id":"w","lease_ms":\#($0)}"# }),
            Probe(method: "POST", target: { _ in "/v1/locks/acquire" }, body: { #"{"key":"k","owner":"o","ttl_ms":\#($0)}"# }),
            Probe(method: "POST", target: { _ in "/v1/locks/renew" }, body: { #"{"key":"k","owner":"o","ttl_ms":\#($0)}"# }),
            Probe(method: "POST", target: { _ in "/v1/runs" }, body: { #"{"workflow":"ship-from-ticket","budget":{"max_cost_usd":\#($0)}}"# }, inRange: Self.fractions),
            Probe(method: "POST", target: { _ in "/v1/runs" }, body: { #"{"workflow":"ship-from-ticket","budget":{"token_budget":\#($0)}}"# }, inRange: ["9007199254740993"]),
            Probe(method: "PUT", target: { _ in "/v1/runs/\(run)/budget" }, body: { #"{"max_cost_usd":\#($0)}"# }, inRange: Self.fractions),
            Probe(method: "PUT", target: { _ in "/v1/runs/\(run)/budget" }, body: { #"{"token_budget":\#($0)}"# }, inRange: ["9007199254740993"]),
            Probe(method: "POST", target: { _ in "/v1/workflows/from-template/ship-from-ticket" }, body: { #"{"slug":"t","cost_cap_usd":\#($0)}"# }, inRange: Self.fractions),
            Probe(method: "PUT", target: { _ in "/v1/workflows/ship-from-ticket" }, body: { #"{"steps":[\#(step)],"cost_cap_usd":\#($0)}"# }, inRange: Self.fractions),
        ]
        for field in ["timeout_ms", "max_attempts"] {
            probes.append(Probe(method: "POST", target: { _ in "/v1/workflows" },
                                body: { #"{"slug":"n","name":"N","steps":[{"id":"s","kind":"task","\#(field)":\#($0)}]}"# }))
            probes.append(Probe(method: "POST", target: { _ in "/v1/workflows/validate" },
                                body: { #"{"steps":[{"id":"s","kind":"task","\#(field)":\#($0)}]}"# }))
        }
        probes.append(Probe(method: "POST", target: { _ in "/v1/workflows/validate" },
                            body: { #"{"steps":[{"id":"w","kind":"wait","duration_ms":\#($0)}]}"# }))
        for list in ["/v1/runs", "/v1/jobs", "/v1/dlq", "/v1/workflows", "/v1/locks", "/v1/api-keys", "/v1/workspaces",
                     "/v1/workspaces/\(ada.workspaceID)/members", "/v1/workflows/templates"] {
            probes.append(Probe(method: "GET", target: { "\(list)?limit=\($0)" }, body: { _ in nil }))
        }
        for query in ["/v1/usage?from=", "/v1/usage?to=", "/v1/runs?created_after=", "/v1/runs?created_before="] {
            probes.append(Probe(method: "GET", target: { query + $0 }, body: { _ in nil }))
        }

        // A sandbox's numbers: its lifetime, each resource limit, and an exec's timeout.
        probes.append(Probe(method: "POST", target: { _ in "/v1/sandboxes" }, body: { #"{"ttl_s":\#($0)}"# }))
        for field in ["cpu_seconds", "memory_mb", "wall_timeout_ms", "max_output_bytes"] {
            probes.append(Probe(method: "POST", target: { _ in "/v1/sandboxes" }, body: { #"{"resource_limits":{"\#(field)":\#($0)}}"# }))
            probes.append(Probe(method: "POST", target: { _ in "/v1/workflows/validate" },
                                body: { #"{"steps":[{"id":"s","kind":"sandbox","argv":["true"],"resource_limits":{"\#(field)":\#($0)}}]}"# }))
        }
        let box = try await server.send("POST", "/v1/sandboxes", token: ada.token, json: "{}")
        #expect(box.status == 202)
        let boxID = try #require(box.json["id"]?.stringValue)
        for _ in 0..<300 where try await server.send("GET", "/v1/sandboxes/\(boxID)", token: ada.token).json["status"] != "ready" {
            try await Task.sleep(for: .milliseconds(10))
        }
        probes.append(Probe(method: "POST", target: { _ in "/v1/sandboxes/\(boxID)/exec" }, body: { #"{"argv":["true"],"timeout_ms":\#($0)}"# }))

        for probe in probes {
            for number in Self.hostile {
                let reply = try await server.send(probe.method, probe.target(number), token: ada.token, json: probe.body(number))
                let described = "\(probe.method) \(probe.target(number)) \(probe.body(number) ?? ""): \(reply.status) \(reply.text)"
                if probe.inRange.contains(number) {
                    #expect(reply.status < 500, "\(described)")
                } else if probe.target(number) == "/v1/workflows/validate" {
                    #expect(reply.status == 200 && reply.json["valid"] == false, "found invalid: \(described)")
                } else {
                    #expect(reply.status == 400 || reply.status == 422, "refused: \(described)")
                }
                #expect(try await server.send("GET", "/healthz").status == 200)
            }
        }
        // A leased job: its heartbeat and completion take numbers too (usage is bounded per report).
        for number in Self.hostile {
            let job = try #require(try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"queue":"lease"}"#).json["id"]?.stringValue)
            let claimed = try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["lease"],"worker_id":"w"}"#)
            #expect(claimed.json["id"]?.stringValue == job)
            let lease = try #require(claimed.json["lease_token"]?.stringValue)
            let heartbeat = try await server.send("POST", "/v1/jobs/\(job)/heartbeat", token: ada.token,
                                                  json: #"{"lease_token":"\#(lease)","lease_ms":\#(number)}"#)
            #expect(heartbeat.status == 400 || heartbeat.status == 422, "heartbeat lease_ms=\(number): \(heartbeat.status)")
            for field in ["input_tokens", "output_tokens", "cost_usd"] {
                let reply = try await server.send("POST", "/v1/jobs/\(job)/complete", token: ada.token,
                                                  json: #"{"lease_token":"\#(lease)","usage":{"\#(field)":\#(number)}}"#)
                if field == "cost_usd" && Self.fractions.contains(number) { continue }
                #expect(reply.status == 400 || reply.status == 422, "complete usage.\(field)=\(number): \(reply.status) \(reply.text)")
            }
            _ = try await server.send("POST", "/v1/jobs/\(job)/complete", token: ada.token, json: #"{"lease_token":"\#(lease)"}"#)
            #expect(try await server.send("GET", "/healthz").status == 200)
        }
        // The numbers that were accepted were stored so that the server starts on them again.
        server = try await server.restart()
        #expect(try await server.send("GET", "/healthz").status == 200)
        #expect(try await server.send("GET", "/v1/runs/\(run)", token: ada.token).status == 200)
        #expect(try await server.send("GET", "/v1/runs", token: ada.token).status == 200)
        #expect(try await server.send("GET", "/v1/jobs", token: ada.token).status == 200)
        #expect(try await server.send("GET", "/v1/usage", token: ada.token).status == 200)
        await server.stop()
    }
}
