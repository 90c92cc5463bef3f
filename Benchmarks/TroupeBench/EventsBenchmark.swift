import Foundation
import Glibc
import TroupeCore
import TroupeTransport

/// `troupe-bench events`: what event streams cost the server, measured on a `troupe serve`
/// child process (so that its memory is its own).
///
/// - Idle: `--subscribers` streams over `--workspaces` workspaces open and idle; the server's
///   RSS before and after, per subscriber.
/// - Fan-out: `--fanout` streams of one workspace; runs are created one at a time and every
///   event's delay from its `created_at` (set in the committing transaction, before the fsync)
///   to its arrival on each stream is recorded: p50, p99, max.
///
/// `--transport ws` measures WebSockets (`GET /v1/events/ws`) instead of SSE.
struct EventsBenchmark {
    let arguments: Arguments
    private var webSocket: Bool { arguments.string("transport") == "ws" }

    static let config = #"""
        {"signup": true, "password_iterations": 1000, "api_key_requests_per_minute": null, "login_address_limits": null,
         "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null}}}
        """#

    func run() async throws {
        let binary = arguments.string("server") ?? ".build/release/troupe"
        let port = arguments.int("port", default: 18_431)
        let server = try BenchServerProcess(binary: binary, port: port, config: Self.config)
        defer { server.stop() }
        let target = try await BenchTarget(url: "http://127.0.0.1:\(port)")
        let subscribers = arguments.int("subscribers", default: 10_000)
        let workspaces = arguments.int("workspaces", default: 100)
        let fanout = arguments.int("fanout", default: 1_000)
        if subscribers > 0 { try await idle(server, target, port: port, subscribers: subscribers, workspaces: workspaces) }
        if fanout > 0 { try await fanOut(target, port: port, subscribers: fanout, runs: arguments.int("runs", default: 100)) }
        await target.close()
    }

    /// A workspace with a one-step workflow, and its owner's session token.
    private func workspace(_ target: BenchTarget) async throws -> String {
        let email = "events-\(RandomID.make(prefix: "u"))@example.com"
        let signup = try await target.send("POST", "/v1/auth/signup", token: nil,
                                           #"{"email":"\#(email)","password":"benchmark password","workspace_name":"Events"}"#)
        guard let token = signup["token"]?.stringValue else { throw BenchTarget.Failure(description: "signup answered without a token") }
        _ = try await target.send("POST", "/v1/workflows", token: token,
                                  #"{"slug":"one","name":"One","steps":[{"id":"build","kind":"task","queue":"build"}]}"#)
        return token
    }

    private func idle(_ server: BenchServerProcess, _ target: BenchTarget, port: Int, subscribers: Int, workspaces: Int) async throws {
        var tokens: [String] = []
        for _ in 0..<workspaces { tokens.append(try await workspace(target)) }
        // Warm up: the first streams pay for what every later one reuses.
        let warm = try (0..<workspaces).map { try BenchStream(port: port, token: tokens[$0], webSocket: webSocket) }
        try await subscribed(target, workspaces)
        try await Task.sleep(for: .seconds(2))
        let before = try server.residentBytes()
        var streams: [BenchStream] = []
        streams.reserveCapacity(subscribers)
        let started = ContinuousClock.now
        for index in 0..<subscribers { streams.append(try BenchStream(port: port, token: tokens[index % workspaces], webSocket: webSocket)) }
        try await subscribed(target, subscribers + workspaces)
        let opened = ContinuousClock.now - started
        try await Task.sleep(for: .seconds(3))
        let after = try server.residentBytes()
        let perSubscriber = Double(after - before) / Double(subscribers) / 1024
        print(jsonLine([
            "bench": .string(webSocket ? "events.ws.idle" : "events.idle"), "subscribers": .int(Int64(subscribers)), "workspaces": .int(Int64(workspaces)),
            "rss_before_mib": .double(Double(before) / 1_048_576), "rss_after_mib": .double(Double(after) / 1_048_576),
            "kib_per_subscriber": .double((perSubscriber * 100).rounded() / 100),
            "open_seconds": .double(Double(opened.components.seconds) + Double(opened.components.attoseconds) / 1e18),
        ]))
        for stream in streams + warm { stream.close() }
    }

    private func fanOut(_ target: BenchTarget, port: Int, subscribers: Int, runs: Int) async throws {
        let token = try await workspace(target)
        let streams = try (0..<subscribers).map { _ in try BenchStream(port: port, token: token, webSocket: webSocket) }
        try await subscribed(target, subscribers)
        let expected = runs * 3  // run.created, run.started, step.started
        let reader = Thread.detachedResult { BenchStream.collectDelays(streams, eventsEach: expected, timeout: .seconds(120)) }
        for _ in 0..<runs {
            _ = try await target.send("POST", "/v1/runs", token: token, #"{"workflow":"one"}"#)
            try await Task.sleep(for: .milliseconds(20))
        }
        let delays = await reader.value.sorted()
        func at(_ fraction: Double) -> Double { delays.isEmpty ? 0 : delays[min(delays.count - 1, Int(Double(delays.count) * fraction))] }
        print(jsonLine([
            "bench": .string(webSocket ? "events.ws.fanout" : "events.fanout"), "subscribers": .int(Int64(subscribers)), "events": .int(Int64(expected)),
            "deliveries": .int(Int64(delays.count)), "expected_deliveries": .int(Int64(expected * subscribers)),
            "p50_ms": .double(at(0.5)), "p99_ms": .double(at(0.99)), "max_ms": .double(delays.last ?? 0),
        ]))
        for stream in streams { stream.close() }
    }

    /// Waits until the server counts `count` subscribers (`troupe_event_subscribers`): a
    /// WebSocket subscribes after its 101, and events committed before that are not its own.
    private func subscribed(_ target: BenchTarget, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = try await target.text("/metrics")
            let line = text.split(separator: "\n").first { $0.hasPrefix("troupe_event_subscribers ") }
            if let line, let value = Int(line.split(separator: " ").last ?? ""), value >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchTarget.Failure(description: "the server did not count \(count) subscribers within a minute")
    }
}
