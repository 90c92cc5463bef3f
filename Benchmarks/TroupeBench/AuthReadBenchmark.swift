import Foundation
import TroupeApp
import TroupeCore
import TroupeTransport

/// `troupe-bench auth-read`: `GET /v1/auth/me` with a real API key of an enterprise workspace
/// (every check of the authenticated path: key hash and cache, the workspace's limiter, the
/// per-key limiter off, usage counting, the request log), driven by `wrk`.
///
/// Without `--url` it starts the server in this process on a temporary database with signup on,
/// `api_key_requests_per_minute: null` and the request log going to /dev/null; with `--url` it
/// provisions the workspace and key on that server (started with the same config). It prints
/// the key as `compare.sh` options, then, unless `--seconds 0`, one JSON line per wrk run and
/// one with the medians.
struct AuthReadBenchmark {
    let url: String?
    let connections: Int
    let seconds: Int
    let repeats: Int

    init(arguments: Arguments) {
        url = arguments.string("url")
        connections = arguments.int("connections", default: 64)
        seconds = arguments.int("seconds", default: 10)
        repeats = arguments.int("repeats", default: 3)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func run() async throws {
        var server: TroupeServer?
        var directory: String?
        let base: String
        if let url {
            base = url
        } else {
            let folder = NSTemporaryDirectory() + "troupe-auth-read-" + RandomID.make(prefix: "b")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var options = TroupeServer.Options()
            options.port = 0
            options.databasePath = folder + "/troupe.db"
            options.logHandle = FileHandle(forWritingAtPath: "/dev/null")
            options.config.signup = true
            options.config.apiKeyRequestsPerMinute = nil
            options.config.passwordIterations = 10_000
            let started = try await TroupeServer.start(options)
            server = started
            directory = folder
            base = "http://127.0.0.1:\(started.port)"
        }
        guard let components = URLComponents(string: base), let port = components.port else {
            throw Failure(description: "--url must look like http://127.0.0.1:8080")
        }
        let key = try await provision(port: port)
        print("auth-read: enterprise workspace key for compare.sh: -k NAME=\(key) -g NAME=/v1/auth/me")
        if seconds > 0 {
            var results: [WrkResult] = []
            for repeatIndex in 1...max(1, repeats) {
                let result = try await WrkResult.runOffPool(url: base, path: "/v1/auth/me", token: key, connections: connections,
                                                            seconds: seconds)
                results.append(result)
                print(jsonLine(result.json(bench: "server.auth_read", connections: connections, extra: [("repeat", .int(Int64(repeatIndex)))])))
            }
            print(jsonLine(WrkResult.median(results).json(bench: "server.auth_read.median", connections: connections,
                                                          extra: [("repeats", .int(Int64(results.count)))])))
        }
        if let server { await server.shutdown(grace: .seconds(1)) }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Signs up, moves the workspace to enterprise, and creates a key with every scope.
    private func provision(port: Int) async throws -> String {
        let client = HTTPClient()
        func send(_ method: String, _ target: String, token: String?, _ body: String) async throws -> JSON {
            var headers: HTTPHeaders = ["Content-Type": "application/json"]
            if let token { headers.set("Authorization", "Bearer \(token)") }
            let response = try await client.send(HTTPClientRequest(method: method, port: port, target: target, headers: headers,
                                                                   body: Array(body.utf8)))
            guard (200..<300).contains(response.status) else {
                throw Failure(description: "\(method) \(target): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
            }
            return try JSON.parse(response.body)
        }
        let email = "bench-\(RandomID.make(prefix: "u"))@example.com"
        let signup = try await send("POST", "/v1/auth/signup", token: nil,
                                    #"{"email":"\#(email)","password":"benchmark password","workspace_name":"Bench"}"#)
        guard let token = signup["token"]?.stringValue, let workspace = signup["workspace"]?["id"]?.stringValue else {
            throw Failure(description: "signup answered without a token")
        }
        _ = try await send("PATCH", "/v1/workspaces/\(workspace)", token: token, #"{"plan":"enterprise"}"#)
        let created = try await send("POST", "/v1/api-keys", token: token,
                                     #"{"name":"bench","scopes":["runs:read","usage:read","members:read"]}"#)
        guard let key = created["raw_key"]?.stringValue else { throw Failure(description: "key creation answered without raw_key") }
        return key
    }
}
