import Foundation
import TroupeApp
import TroupeCore
import TroupeTransport

/// The server a benchmark drives: one started in this process on a temporary database (signup
/// on, no per-key limit, no active-run cap on enterprise, request log to /dev/null), or the one
/// at `--url`, which should run with the same config. ``provision()`` makes the workspace.
final class BenchTarget: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// An enterprise workspace with the ship-from-ticket workflow, a key with every scope the
    /// benchmarks use, a session token, and one run.
    struct Workspace: Sendable {
        let key: String
        let session: String
        let runID: String
    }

    /// Webhooks may point at a receiver on loopback (`run-create --webhooks`).
    static let config = #"{"signup": true, "api_key_requests_per_minute": null, "webhook_private_networks": true, "login_address_limits": null, "plans": {"enterprise": {"active_runs": null}}}"#

    let base: String
    let port: Int
    private let server: TroupeServer?
    private let directory: String?
    let client = HTTPClient()

    /// `config`: the in-process server's (ignored with a `url`).
    init(url: String?, config: String = BenchTarget.config) async throws {
        if let url {
            guard let port = URLComponents(string: url)?.port else { throw Failure(description: "--url must look like http://127.0.0.1:8080") }
            (base, self.port, server, directory) = (url, port, nil, nil)
            return
        }
        let folder = NSTemporaryDirectory() + "troupe-bench-server-" + RandomID.make(prefix: "b")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var options = TroupeServer.Options()
        options.port = 0
        options.databasePath = folder + "/troupe.db"
        options.logHandle = FileHandle(forWritingAtPath: "/dev/null")
        options.config = try ServerConfig.parse(Array(config.utf8))
        options.config.passwordIterations = 10_000
        let started = try await TroupeServer.start(options)
        (base, port, server, directory) = ("http://127.0.0.1:\(started.port)", started.port, started, folder)
    }

    func close() async {
        if let server { await server.shutdown(grace: .seconds(1)) }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Sends a JSON request; throws unless it answers 2xx.
    func send(_ method: String, _ target: String, token: String?, _ body: String = "") async throws -> JSON {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.set("Authorization", "Bearer \(token)") }
        let response = try await client.send(HTTPClientRequest(method: method, port: port, target: target, headers: headers, body: Array(body.utf8)))
        guard (200..<300).contains(response.status) else {
            throw Failure(description: "\(method) \(target): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        }
        return response.body.isEmpty ? .null : try JSON.parse(response.body)
    }

    /// A GET's body as text (`/metrics`); throws unless it answers 2xx.
    func text(_ target: String) async throws -> String {
        let response = try await client.send(HTTPClientRequest(method: "GET", port: port, target: target, headers: [:], body: []))
        guard (200..<300).contains(response.status) else { throw Failure(description: "GET \(target): \(response.status)") }
        return String(decoding: response.body, as: UTF8.self)
    }

    func provision() async throws -> Workspace {
        let email = "bench-\(RandomID.make(prefix: "u"))@example.com"
        let signup = try await send("POST", "/v1/auth/signup", token: nil, #"{"email":"\#(email)","password":"benchmark password","workspace_name":"Bench"}"#)
        guard let token = signup["token"]?.stringValue, let workspace = signup["workspace"]?["id"]?.stringValue else {
            throw Failure(description: "signup answered without a token")
        }
        _ = try await send("PATCH", "/v1/workspaces/\(workspace)", token: token, #"{"plan":"enterprise"}"#)
        _ = try await send("POST", "/v1/workflows/from-template/ship-from-ticket", token: token, "{}")
        let created = try await send("POST", "/v1/api-keys", token: token,
                                     #"{"name":"bench","scopes":["runs:read","runs:write","jobs:work","jobs:read","usage:read"]}"#)
        guard let key = created["raw_key"]?.stringValue else { throw Failure(description: "key creation answered without raw_key") }
        let run = try await send("POST", "/v1/runs", token: key, #"{"workflow":"ship-from-ticket","ticket":"JIRA-1","env":"preview"}"#)
        guard let runID = run["id"]?.stringValue else { throw Failure(description: "run creation answered without an id") }
        return Workspace(key: key, session: token, runID: runID)
    }
}
