import Foundation
import Glibc
import Testing
import TroupeCore
import TroupeTransport

/// `kill -9` of the real binary while runs are created and their jobs completed: after a
/// restart every acknowledged run and completion is there, and every run can finish.
@Suite(.serialized, .timeLimit(.minutes(5))) struct RunCrashTests {
    private struct Acknowledged: Sendable {
        var runs: [String] = []
        var completedJobs: [String] = []
    }

    private func send(_ client: HTTPClient, _ port: Int, _ method: String, _ target: String, token: String?, json: String? = nil) async throws -> (Int, JSON) {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.set("Authorization", "Bearer \(token)") }
        let reply = try await client.send(HTTPClientRequest(method: method, port: port, target: target, headers: headers, body: Array((json ?? "").utf8)))
        return (reply.status, (try? JSON.parse(reply.body)) ?? .null)
    }

    /// Claims one job (leases of 1 s, so that leases cut by the crash end soon) and completes it.
    private func workOne(_ client: HTTPClient, _ port: Int, _ key: String) async throws -> String? {
        let (status, job) = try await send(client, port, "POST", "/v1/jobs/claim", token: key,
                                           json: #"{"queues":["crash"],"worker_id":"w","wait_ms":200,"lease_ms":1000}"#)
        guard status == 200, let id = job["id"]?.stringValue, let lease = job["lease_token"]?.stringValue else { return nil }
        let (done, _) = try await send(client, port, "POST", "/v1/jobs/\(id)/complete", token: key, json: #"{"lease_token":"\#(lease)"}"#)
        return done == 200 ? id : nil
    }

    @Test func nothingAcknowledgedIsLostAndEveryRunFinishes() async throws {
        let directory = NSTemporaryDirectory() + "troupe-crash-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/troupe.db"
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "password_iterations": 1000, "api_key_requests_per_minute": null,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        let client = HTTPClient()

        let (first, port) = try await TroupeProcess.serve(db: db, config: config)
        let (_, account) = try await send(client, port, "POST", "/v1/auth/signup", token: nil,
                                          json: #"{"email":"crash@example.com","password":"correct horse battery","workspace_name":"Crash"}"#)
        let session = try #require(account["token"]?.stringValue)
        #expect(try await send(client, port, "POST", "/v1/workflows", token: session,
                               json: #"{"slug":"one","name":"One","steps":[{"id":"work","kind":"task","queue":"crash","max_attempts":20}]}"#).0 == 201)
        let (_, created) = try await send(client, port, "POST", "/v1/api-keys", token: session,
                                          json: #"{"name":"crash","scopes":["runs:write","runs:read","jobs:work","jobs:read"]}"#)
        let key = try #require(created["raw_key"]?.stringValue)

        let acknowledged = LockedBox(Acknowledged())
        // At a random moment once the work is well under way (more than 50 runs acknowledged:
        // under a loaded suite a fixed 0.8–1.6 s once saw only 49).
        let killer = Task {
            for _ in 0..<3_000 where acknowledged.value.runs.count <= 50 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(Int64.random(in: 0...800)))
            kill(first.processIdentifier, SIGKILL)
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    while let (status, run) = try? await send(client, port, "POST", "/v1/runs", token: key, json: #"{"workflow":"one"}"#) {
                        if status == 201, let id = run["id"]?.stringValue { acknowledged.withLock { $0.runs.append(id) } }
                    }
                }
            }
            for _ in 0..<8 {
                group.addTask {
                    while true {
                        do {
                            if let job = try await workOne(client, port, key) { acknowledged.withLock { $0.completedJobs.append(job) } }
                        } catch {
                            return
                        }
                    }
                }
            }
        }
        try await killer.value
        _ = await TroupeProcess.waitForExit(first)
        let before = acknowledged.value
        print("crash test: \(before.runs.count) runs and \(before.completedJobs.count) completions acknowledged before kill -9")
        #expect(before.runs.count > 50, "the crash came while runs were being created (\(before.runs.count) acknowledged)")

        let (second, again) = try await TroupeProcess.serve(db: db, config: config)
        defer { second.terminate() }
        for id in before.completedJobs {
            let (status, job) = try await send(client, again, "GET", "/v1/jobs/\(id)", token: key)
            #expect(status == 200 && job["status"] == "succeeded", "acknowledged completion of \(id)")
        }
        // Drain: leases cut by the crash expire within a second and their jobs come back, so an
        // empty claim counts as idle only while no job is still leased (within a minute).
        var idle = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while idle < 3, ContinuousClock.now < deadline {
            if try await workOne(client, again, key) != nil {
                idle = 0
                continue
            }
            let (_, leased) = try await send(client, again, "GET", "/v1/jobs?status=leased&limit=1", token: key)
            idle = leased["data"]?.arrayValue?.isEmpty == true ? idle + 1 : 0
        }
        var unfinished: [String] = []
        for id in before.runs {
            let (status, run) = try await send(client, again, "GET", "/v1/runs/\(id)", token: key)
            if status != 200 || run["status"] != "succeeded" { unfinished.append("\(id): \(status) \(run["status"]?.stringValue ?? "?")") }
        }
        #expect(unfinished.isEmpty, "every acknowledged run exists and finished: \(unfinished.prefix(5))")
        let (_, stillQueued) = try await send(client, again, "GET", "/v1/jobs?status=queued", token: key)
        #expect(stillQueued["data"]?.arrayValue?.isEmpty == true)
    }
}
