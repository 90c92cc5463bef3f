import Foundation
import TroupeCore

/// One `wrk` run against a route with a bearer token, parsed from wrk's Lua `done` hook.
struct WrkResult {
    /// What every wrk request sends.
    struct Request: Sendable {
        let method: String
        let path: String
        let body: String?
    }

    var requestsPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var errors: Int

    private static let script = """
        local token = os.getenv("TROUPE_BENCH_TOKEN")
        wrk.method = os.getenv("TROUPE_BENCH_METHOD")
        wrk.path = os.getenv("TROUPE_BENCH_PATH")
        local body = os.getenv("TROUPE_BENCH_BODY")
        if body ~= nil and body ~= "" then
           wrk.body = body
           wrk.headers["Content-Type"] = "application/json"
        end
        wrk.headers["Authorization"] = "Bearer " .. token
        req = wrk.format()
        function done(summary, latency, requests)
           local e = summary.errors
           io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d errors=%d\\n",
              summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
              e.connect + e.read + e.write + e.status + e.timeout))
        end
        """

    /// ``run(url:request:token:connections:seconds:)`` on a Dispatch thread, so that waiting for wrk
    /// never holds one of the cooperative threads an in-process server needs.
    static func runOffPool(url: String, request: Request, token: String, connections: Int, seconds: Int) async throws -> WrkResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try run(url: url, request: request, token: token, connections: connections, seconds: seconds) })
            }
        }
    }

    /// Runs `wrk -t1 -c<connections> -d<seconds>s --latency` once (a hard timeout bounds it).
    static func run(url: String, request: Request, token: String, connections: Int, seconds: Int) throws -> WrkResult {
        let scriptPath = NSTemporaryDirectory() + "troupe-bench-\(RandomID.make(prefix: "w")).lua"
        try Data(script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        defer { try? FileManager.default.removeItem(atPath: scriptPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["timeout", "-k", "5", "\(seconds + 30)", "wrk", "-t1", "-c\(connections)", "-d\(seconds)s", "--latency",
                             "-s", scriptPath, url]
        var environment = ProcessInfo.processInfo.environment
        environment["TROUPE_BENCH_TOKEN"] = token
        environment["TROUPE_BENCH_METHOD"] = request.method
        environment["TROUPE_BENCH_PATH"] = request.path
        environment["TROUPE_BENCH_BODY"] = request.body ?? ""
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT ") }) else {
            throw BenchTarget.Failure(description: "wrk printed no RESULT line (is wrk installed?): \(output)")
        }
        var fields: [String: Double] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Double(parts[1]) { fields[String(parts[0])] = value }
        }
        return WrkResult(requestsPerSecond: fields["rps"] ?? 0, p50Microseconds: fields["p50_us"] ?? 0,
                         p99Microseconds: fields["p99_us"] ?? 0, errors: Int(fields["errors"] ?? 0))
    }

    /// The median of each figure over `results` (errors summed).
    static func median(_ results: [WrkResult]) -> WrkResult {
        func middle(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
        return WrkResult(requestsPerSecond: middle(results.map(\.requestsPerSecond)), p50Microseconds: middle(results.map(\.p50Microseconds)),
                         p99Microseconds: middle(results.map(\.p99Microseconds)), errors: results.reduce(0) { $0 + $1.errors })
    }

    func json(bench: String, connections: Int, extra: [(String, JSON)]) -> JSON {
        .object(JSONObject([
            ("bench", .string(bench)), ("connections", .int(Int64(connections))), ("rps", .int(Int64(requestsPerSecond))),
            ("p50_ms", .double((p50Microseconds / 10).rounded() / 100)), ("p99_ms", .double((p99Microseconds / 10).rounded() / 100)),
            ("errors", .int(Int64(errors))),
        ] + extra))
    }
}
