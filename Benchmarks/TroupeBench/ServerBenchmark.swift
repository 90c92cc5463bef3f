import Foundation
import TroupeCore

/// `troupe-bench auth-read | get-run | run-create`: one route of the real server under wrk, 64
/// connections by default, with a real API key of an enterprise workspace.
///
/// - `auth-read`: `GET /v1/auth/me` (the authenticated path: key hash and cache, limits, usage, log).
/// - `get-run`: `GET /v1/runs/{id}` of a ship-from-ticket run.
/// - `run-create`: durable `POST /v1/runs` of ship-from-ticket (FULL: each 201 is committed,
///   with the run's first job).
///
/// Prints the `compare.sh` options for the same server (`-k`, `-g`), then, unless `--seconds 0`,
/// one JSON line per wrk run and one with the medians. `--login-flood N`: N clients send
/// wrong-password logins throughout each wrk run (their answers are in each line), waiting out
/// each `Retry-After` unless `--login-flood-retry at-once`.
struct ServerBenchmark {
    let command: String
    let url: String?
    let connections: Int
    let seconds: Int
    let repeats: Int
    let loginFlood: Int
    let patientFlood: Bool
    /// `run-create --webhooks N`: N webhooks of the workspace subscribed to `*`, to a receiver
    /// in this process answering after `--receiver-delay-ms`.
    let webhooks: Int
    let receiverDelay: Duration
    /// `--drain-delay-ms D`: after the runs the receiver answers after D ms, and the bench waits
    /// until every webhook's newest delivery is done, timing the drain.
    let drainDelay: Duration?

    init(command: String, arguments: Arguments) {
        self.command = command
        url = arguments.string("url")
        connections = arguments.int("connections", default: 64)
        seconds = arguments.int("seconds", default: 10)
        repeats = arguments.int("repeats", default: 3)
        loginFlood = arguments.int("login-flood", default: 0)
        patientFlood = arguments.string("login-flood-retry") != "at-once"
        webhooks = arguments.int("webhooks", default: 0)
        receiverDelay = .milliseconds(arguments.int("receiver-delay-ms", default: 200))
        drainDelay = arguments.string("drain-delay-ms").flatMap(Int.init).map { .milliseconds($0) }
    }

    func run() async throws {
        let target = try await BenchTarget(url: url)
        let workspace = try await target.provision()
        let receiver = webhooks > 0 ? try WebhookReceiver(delay: receiverDelay) : nil
        var hooks: [String] = []
        if let receiver {
            for _ in 0..<webhooks {
                hooks.append(try await target.send("POST", "/v1/webhooks", token: workspace.session,
                                                   #"{"url":"http://127.0.0.1:\#(receiver.port)/hook","events":["*"]}"#)["id"]?.stringValue ?? "")
            }
        }
        print("\(command): compare.sh options for this server: -k NAME=\(workspace.key) -g NAME=/v1/runs/\(workspace.runID)")
        let request: WrkResult.Request
        switch command {
        case "get-run": request = WrkResult.Request(method: "GET", path: "/v1/runs/\(workspace.runID)", body: nil)
        case "run-create":
            request = WrkResult.Request(method: "POST", path: "/v1/runs", body: #"{"workflow":"ship-from-ticket","ticket":"JIRA-1","env":"preview"}"#)
        default: request = WrkResult.Request(method: "GET", path: "/v1/auth/me", body: nil)
        }
        let name = "server." + command.replacingOccurrences(of: "-", with: "_")
        if seconds > 0 {
            var results: [WrkResult] = []
            for repeatIndex in 1...max(1, repeats) {
                let flood = loginFlood > 0 ? LoginFlood(port: target.port, clients: loginFlood, patient: patientFlood) : nil
                let flooding = Task { await flood?.run() }
                let result = try await WrkResult.runOffPool(url: target.base, request: request, token: workspace.key, connections: connections,
                                                            seconds: seconds)
                flooding.cancel()
                await flooding.value
                results.append(result)
                var extra: [(String, JSON)] = [("repeat", .int(Int64(repeatIndex)))]
                if let flood {
                    extra += [("login_flood_clients", .int(Int64(loginFlood))), ("login_flood_waits_retry_after", .bool(patientFlood)),
                              ("login_flood_answers", flood.counts)]
                }
                print(jsonLine(result.json(bench: name, connections: connections, extra: extra)))
            }
            print(jsonLine(WrkResult.median(results).json(bench: name + ".median", connections: connections,
                                                          extra: [("repeats", .int(Int64(results.count)))])))
        }
        if let receiver {
            print(jsonLine(["bench": "server.run_create.webhooks", "webhooks": .int(Int64(webhooks)),
                            "receiver_delay_ms": .int(Int64(receiverDelay.components.seconds * 1000 + receiverDelay.components.attoseconds / 1_000_000_000_000_000)),
                            "delivered_during_runs": .int(Int64(receiver.received))]))
            if let drainDelay { try await drain(receiver, hooks: hooks, session: workspace.session, target: target, delay: drainDelay) }
            await receiver.stop()
        }
        await target.close()
    }

    /// Waits until each webhook's newest delivery is no longer pending (deliveries are queued
    /// in event order), the receiver answering after `delay`; prints how long that took.
    private func drain(_ receiver: WebhookReceiver, hooks: [String], session: String, target: BenchTarget, delay: Duration) async throws {
        receiver.delay.withLock { $0 = delay }
        let before = receiver.received
        let started = ContinuousClock.now
        var open = Set(hooks)
        while !open.isEmpty {
            try await Task.sleep(for: .milliseconds(500))
            for hook in open {
                let newest = try await target.send("GET", "/v1/webhooks/\(hook)/deliveries?limit=1", token: session)["data"]?.arrayValue?.first
                if let status = newest?["status"]?.stringValue, status != "pending" { open.remove(hook) }
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let drained = receiver.received - before
        print(jsonLine(["bench": "server.run_create.webhooks.drain", "drain_delay_ms": .int(Int64(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)),
                        "delivered_in_drain": .int(Int64(drained)), "delivered_total": .int(Int64(receiver.received)),
                        "drain_seconds": .double((seconds * 10).rounded() / 10), "deliveries_per_second": .int(Int64(Double(drained) / max(seconds, 0.001)))]))
    }
}
