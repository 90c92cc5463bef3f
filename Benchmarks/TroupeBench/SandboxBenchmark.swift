import Foundation
import Glibc
import TroupeCore
import TroupeTransport

/// `troupe-bench sandboxes`: what sandboxes cost, measured through the API of a `troupe serve`
/// child process with exec on (and, as root, a uid of its own per sandbox and namespaces).
///
/// - `sandboxes.create`: `POST /v1/sandboxes` until a `GET` shows it `ready`, and `DELETE`
///   until it shows `terminated`, one sandbox at a time (`--creates`).
/// - `sandboxes.exec`: `exec` of `["true"]` in one ready sandbox, one at a time (`--execs`).
/// - `sandboxes.concurrent`: `--cap` sandboxes (the plan's cap), each with a client exec'ing
///   `["true"]` in a loop for `--seconds`: execs/s and their latency.
///
/// One JSON line per part, latencies in milliseconds; each line names the isolation in force.
struct SandboxBenchmark {
    let arguments: Arguments

    func run() async throws {
        let binary = arguments.string("server") ?? ".build/release/troupe"
        let port = arguments.int("port", default: 18_432)
        let cap = arguments.int("cap", default: 4)
        let root = NSTemporaryDirectory() + "troupe-bench-sandboxes-" + RandomID.make(prefix: "s")
        let uidBase = 1_000_000 + UInt32.random(in: 0..<60_000) * 65_536
        let config = #"""
            {"signup": true, "password_iterations": 1000, "api_key_requests_per_minute": null, "sandbox_exec": true, "login_address_limits": null,
             "sandbox_root": "\#(root)", "sandbox_uid_base": \#(uidBase),
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "sandboxes": \#(cap)}}}
            """#
        let server = try BenchServerProcess(binary: binary, port: port, config: config)
        defer {
            server.stop()
            try? FileManager.default.removeItem(atPath: root)
        }
        let target = try await BenchTarget(url: "http://127.0.0.1:\(port)")
        let signup = try await target.send("POST", "/v1/auth/signup", token: nil,
                                           #"{"email":"sandboxes@example.com","password":"benchmark password","workspace_name":"Sandboxes"}"#)
        guard let token = signup["token"]?.stringValue else { throw BenchTarget.Failure(description: "signup answered without a token") }
        let bench = Session(target: target, token: token)
        try await bench.creates(arguments.int("creates", default: 100))
        try await bench.execs(arguments.int("execs", default: 1_000))
        try await bench.concurrent(cap: cap, seconds: arguments.double("seconds", default: 10))
        await target.close()
    }

    private struct Session {
        let target: BenchTarget
        let token: String

        /// A new sandbox once ready: its id, isolation, and how long that took.
        func ready() async throws -> (id: String, isolation: JSON, took: Duration) {
            let started = ContinuousClock.now
            let created = try await target.send("POST", "/v1/sandboxes", token: token, "{}")
            guard let id = created["id"]?.stringValue else { throw BenchTarget.Failure(description: "create answered without an id") }
            let current = try await until(id, "ready")
            return (id, current["isolation"] ?? .null, ContinuousClock.now - started)
        }

        /// Polls the sandbox until it shows `status` (up to 10 s).
        func until(_ id: String, _ status: JSON) async throws -> JSON {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let current = try await target.send("GET", "/v1/sandboxes/\(id)", token: token)
                if current["status"] == status { return current }
                if current["status"] == "failed" { throw BenchTarget.Failure(description: "sandbox \(id) failed: \(current)") }
            }
            throw BenchTarget.Failure(description: "sandbox \(id) did not become \(status) within 10 s")
        }

        func exec(_ id: String) async throws -> Duration {
            let started = ContinuousClock.now
            let answer = try await target.send("POST", "/v1/sandboxes/\(id)/exec", token: token, #"{"argv":["true"]}"#)
            guard answer["exit_code"] == 0 else { throw BenchTarget.Failure(description: "exec of true answered \(answer)") }
            return ContinuousClock.now - started
        }

        func creates(_ count: Int) async throws {
            guard count > 0 else { return }
            var readies: [Duration] = []
            var deletes: [Duration] = []
            var isolation = JSON.null
            for _ in 0..<count {
                let made = try await ready()
                readies.append(made.took)
                isolation = made.isolation
                let started = ContinuousClock.now
                _ = try await target.send("DELETE", "/v1/sandboxes/\(made.id)", token: token)
                _ = try await until(made.id, "terminated")
                deletes.append(ContinuousClock.now - started)
            }
            print(jsonLine(.object(JSONObject([
                ("bench", "sandboxes.create"), ("sandboxes", .int(Int64(count))), ("isolation", isolation),
                ("ready_p50_ms", .double(Self.percentile(readies, 0.5))), ("ready_p99_ms", .double(Self.percentile(readies, 0.99))),
                ("terminated_p50_ms", .double(Self.percentile(deletes, 0.5))), ("terminated_p99_ms", .double(Self.percentile(deletes, 0.99))),
            ]))))
        }

        func execs(_ count: Int) async throws {
            guard count > 0 else { return }
            let box = try await ready()
            for _ in 0..<10 { _ = try await exec(box.id) }  // warm-up
            var took: [Duration] = []
            for _ in 0..<count { took.append(try await exec(box.id)) }
            _ = try await target.send("DELETE", "/v1/sandboxes/\(box.id)", token: token)
            _ = try await until(box.id, "terminated")
            print(jsonLine(.object(JSONObject([
                ("bench", "sandboxes.exec"), ("argv", ["true"]), ("execs", .int(Int64(count))), ("isolation", box.isolation),
                ("p50_ms", .double(Self.percentile(took, 0.5))), ("p99_ms", .double(Self.percentile(took, 0.99))),
                ("max_ms", .double(Self.percentile(took, 1))),
            ]))))
        }

        func concurrent(cap: Int, seconds: Double) async throws {
            guard cap > 0, seconds > 0 else { return }
            var boxes: [String] = []
            for _ in 0..<cap { boxes.append(try await ready().id) }
            let refused = try await target.client.send(HTTPClientRequest(
                method: "POST", port: target.port, target: "/v1/sandboxes",
                headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"], body: Array("{}".utf8))).status
            let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
            let started = ContinuousClock.now
            let took = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for id in boxes {
                    group.addTask {
                        var took: [Duration] = []
                        while ContinuousClock.now < deadline { took.append(try await exec(id)) }
                        return took
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let elapsed = ContinuousClock.now - started
            for id in boxes { _ = try await target.send("DELETE", "/v1/sandboxes/\(id)", token: token) }
            print(jsonLine(.object(JSONObject([
                ("bench", "sandboxes.concurrent"), ("sandboxes", .int(Int64(cap))), ("past_cap_status", .int(Int64(refused))),
                ("execs", .int(Int64(took.count))), ("execs_per_s", .double((Double(took.count) / elapsed.seconds).rounded())),
                ("p50_ms", .double(Self.percentile(took, 0.5))), ("p99_ms", .double(Self.percentile(took, 0.99))),
            ]))))
        }

        static func percentile(_ durations: [Duration], _ fraction: Double) -> Double {
            let sorted = durations.sorted()
            guard !sorted.isEmpty else { return 0 }
            let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))].milliseconds
            return (value * 1000).rounded() / 1000
        }
    }
}
