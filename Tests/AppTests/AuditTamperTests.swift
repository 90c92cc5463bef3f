import Foundation
import Glibc
import Testing
import TroupeCore
import TroupePersistence
import TroupeTransport

/// The audit chain against the real binary: entries edited or deleted in the file while the
/// server is stopped are named by verify after a restart (online and by `troupe verify-audit`),
/// the server keeps appending without repairing the break, and after `kill -9` under load the
/// chain is valid and every acknowledged change has its entry.
@Suite(.serialized, .timeLimit(.minutes(5))) struct AuditTamperTests {
    private let client = HTTPClient()

    private func send(_ port: Int, _ method: String, _ target: String, token: String?, json: String? = nil) async throws -> (Int, JSON) {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.set("Authorization", "Bearer \(token)") }
        let reply = try await client.send(HTTPClientRequest(method: method, port: port, target: target, headers: headers, body: Array((json ?? "").utf8)))
        return (reply.status, (try? JSON.parse(reply.body)) ?? .null)
    }

    private func directory() throws -> (db: String, config: String) {
        let directory = NSTemporaryDirectory() + "troupe-audit-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "password_iterations": 1000, "api_key_requests_per_minute": null,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        return (directory + "/troupe.db", config)
    }

    /// Signs up and stores a one-step approval workflow; returns the owner's session token.
    private func owner(_ port: Int) async throws -> String {
        let (_, account) = try await send(port, "POST", "/v1/auth/signup", token: nil,
                                          json: #"{"email":"audit@example.com","password":"correct horse battery","workspace_name":"Audit"}"#)
        let session = try #require(account["token"]?.stringValue)
        #expect(try await send(port, "POST", "/v1/workflows", token: session,
                               json: #"{"slug":"gate","name":"Gate","steps":[{"id":"ok","kind":"approval","approvers":["owner"]}]}"#).0 == 201)
        return session
    }

    private func stop(_ server: Process) async {
        server.terminate()
        _ = await TroupeProcess.waitForExit(server)
    }

    private func edit(_ db: String, _ sql: String) throws {
        let database = try Database(path: db)
        defer { database.close() }
        try database.execute(sql)
    }

    /// `troupe verify-audit --db`: its exit status and JSON lines.
    private func verifyOffline(_ db: String) async throws -> (Int32, [JSON]) {
        let (process, out) = try TroupeProcess.launch(["verify-audit", "--db", db])
        let status = await TroupeProcess.waitForExit(process)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (status, try text.split(separator: "\n").map { try JSON.parse(Array($0.utf8)) })
    }

    @Test func anEditAndADeletionInTheStoppedFileAreNamedByVerifyAfterARestart() async throws {
        let (db, config) = try directory()
        let (first, port) = try await TroupeProcess.serve(db: db, config: config)
        let session = try await owner(port)
        for _ in 0..<3 { #expect(try await send(port, "POST", "/v1/runs", token: session, json: #"{"workflow":"gate"}"#).0 == 201) }
        await stop(first)
        #expect(try await verifyOffline(db).0 == 0)

        try edit(db, "UPDATE audit_entries SET note = 'approved by nobody' WHERE seq = 3")
        let (second, again) = try await TroupeProcess.serve(db: db, config: config)
        let broken = try await send(again, "GET", "/v1/audit/verify", token: session).1
        #expect(broken["valid"] == false && broken["checked_count"] == 3 && broken["first_invalid_seq"] == 3 && broken["anchor"]?["seq"] == 2)
        // The server appends after the last entry; the break stays.
        #expect(try await send(again, "POST", "/v1/runs", token: session, json: #"{"workflow":"gate"}"#).0 == 201)
        #expect(try await send(again, "GET", "/v1/audit/verify", token: session).1["first_invalid_seq"] == 3)
        await stop(second)
        let (status, lines) = try await verifyOffline(db)
        #expect(status == 1)
        #expect(lines.first?["first_invalid_seq"] == 3 && lines.first?["valid"] == false)

        try edit(db, "UPDATE audit_entries SET note = NULL WHERE seq = 3")
        try edit(db, "DELETE FROM audit_entries WHERE seq = 4")
        let (third, last) = try await TroupeProcess.serve(db: db, config: config)
        #expect(try await send(last, "GET", "/v1/audit/verify", token: session).1["first_invalid_seq"] == 4, "a deleted entry: verify names its own seq")
        await stop(third)
        #expect(try await verifyOffline(db).1.first?["first_invalid_seq"] == 4)
    }

    @Test func afterKill9UnderLoadTheChainIsValidAndEveryAcknowledgedChangeHasItsEntry() async throws {
        let (db, config) = try directory()
        let (first, port) = try await TroupeProcess.serve(db: db, config: config)
        let session = try await owner(port)
        let acknowledged = LockedBox([(event: String, run: String)]())
        let killer = Task {
            try await Task.sleep(for: .milliseconds(Int64.random(in: 700...1400)))
            kill(first.processIdentifier, SIGKILL)
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    while let (status, run) = try? await send(port, "POST", "/v1/runs", token: session, json: #"{"workflow":"gate"}"#),
                        status == 201, let id = run["id"]?.stringValue {
                        acknowledged.withLock { $0.append(("run.created", id)) }
                        guard let (approved, _) = try? await send(port, "POST", "/v1/runs/\(id)/approve", token: session, json: #"{"note":"ok"}"#)
                        else { return }
                        if approved == 200 { acknowledged.withLock { $0.append(("run.approved", id)) } }
                    }
                }
            }
        }
        try await killer.value
        _ = await TroupeProcess.waitForExit(first)
        let before = acknowledged.value
        #expect(before.count > 40, "the kill came under load (\(before.count) changes acknowledged)")

        let (second, again) = try await TroupeProcess.serve(db: db, config: config)
        #expect(try await send(again, "GET", "/v1/audit/verify", token: session).1["valid"] == true)
        await stop(second)
        let database = try Database(path: db, options: DatabaseOptions(readOnly: true))
        defer { database.close() }
        let recorded = Set(try database.query("SELECT event, target_id FROM audit_entries") { "\($0.string(at: 0) ?? "") \($0.string(at: 1) ?? "")" })
        let missing = before.filter { !recorded.contains("\($0.event) \($0.run)") }
        #expect(missing.isEmpty, "acknowledged changes without an entry: \(missing.prefix(5))")
        #expect(try await verifyOffline(db).0 == 0)
    }
}
