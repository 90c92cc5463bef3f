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
/// one JSON line per wrk run and one with the medians.
struct ServerBenchmark {
    let command: String
    let url: String?
    let connections: Int
    let seconds: Int
    let repeats: Int

    init(command: String, arguments: Arguments) {
        self.command = command
        url = arguments.string("url")
        connections = arguments.int("connections", default: 64)
        seconds = arguments.int("seconds", default: 10)
        repeats = arguments.int("repeats", default: 3)
    }

    func run() async throws {
        let target = try await BenchTarget(url: url)
        let workspace = try await target.provision()
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
                let result = try await WrkResult.runOffPool(url: target.base, request: request, token: workspace.key, connections: connections,
                                                            seconds: seconds)
                results.append(result)
                print(jsonLine(result.json(bench: name, connections: connections, extra: [("repeat", .int(Int64(repeatIndex)))])))
            }
            print(jsonLine(WrkResult.median(results).json(bench: name + ".median", connections: connections,
                                                          extra: [("repeats", .int(Int64(results.count)))])))
        }
        await target.close()
    }
}
