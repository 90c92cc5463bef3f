import Foundation
import Glibc
import Testing
import TroupeCore
import TroupePersistence
import TroupeTransport

/// `kill -9` of the real binary while events are created and delivered: after a restart every
/// event reaches the webhook at least once, and a duplicate carries the same event id.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WebhookCrashTests {

    private func send(_ port: Int, _ method: String, _ target: String, token: String?, json: String = "") async throws -> (Int, JSON) {
        try await TroupeProcess.send(port, method, target, token: token, json: json)
    }

    @Test func everyEventIsDeliveredAtLeastOnceAcrossAKill9() async throws {
        let receiver = WebhookDeliveryTests.Receiver()
        let listener = try HTTPServer(configuration: .init(port: 0), responder: receiver)
        let serving = listener.start()
        let directory = NSTemporaryDirectory() + "troupe-webhook-crash-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/troupe.db"
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "password_iterations": 1000, "api_key_requests_per_minute": null, "webhook_private_networks": true,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))

        let (first, port) = try await TroupeProcess.serve(db: db, config: config)
        let (_, account) = try await send(port, "POST", "/v1/auth/signup", token: nil,
                                          json: #"{"email":"hooks@example.com","password":"correct horse battery","workspace_name":"Hooks"}"#)
        let session = try #require(account["token"]?.stringValue)
        let workspace = try #require(account["workspace"]?["id"]?.stringValue)
        #expect(try await send(port, "POST", "/v1/webhooks", token: session,
                               json: #"{"url":"http://127.0.0.1:\#(listener.port)/in","events":["*"]}"#).0 == 201)
        #expect(try await send(port, "POST", "/v1/workflows", token: session,
                               json: #"{"slug":"gate","name":"Gate","steps":[{"id":"ok","kind":"approval"}]}"#).0 == 201)
        let killer = Task {
            try await Task.sleep(for: .milliseconds(Int64.random(in: 500...900)))
            kill(first.processIdentifier, SIGKILL)
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    while let (status, _) = try? await send(port, "POST", "/v1/runs", token: session, json: #"{"workflow":"gate"}"#), status == 201 {}
                }
            }
        }
        try await killer.value
        _ = await TroupeProcess.waitForExit(first)
        let beforeRestart = receiver.received.count

        let (second, again) = try await TroupeProcess.serve(db: db, config: config)
        defer { second.terminate() }
        // Every committed event of the workspace, by seq: what the log holds after the crash.
        let (_, me) = try await send(again, "GET", "/v1/audit/verify", token: session)
        #expect(me["valid"] == true)
        let events = try eventIDs(db: db, workspace: workspace)
        #expect(events.count > 10, "events were committed before the kill (\(events.count))")
        let deadline = ContinuousClock.now + .seconds(60)
        var delivered: [Int64: Set<String>] = [:]
        while ContinuousClock.now < deadline {
            delivered = [:]
            for request in receiver.received {
                guard let event = try? JSON.parse(request.body), let seq = event["seq"]?.intValue, let id = event["id"]?.stringValue else { continue }
                delivered[seq, default: []].insert(id)
            }
            if events.keys.allSatisfy({ delivered[$0] != nil }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        print("webhook crash test: \(events.count) events, \(receiver.received.count) deliveries received (\(beforeRestart) before the kill)")
        let missing = events.keys.filter { delivered[$0] == nil }.sorted()
        #expect(missing.isEmpty, "events never delivered: \(missing.prefix(10)) (\(beforeRestart) requests came before the kill)")
        for (seq, ids) in delivered {
            #expect(ids == [events[seq] ?? ""], "seq \(seq) came as \(ids), one event id each time")
        }
        await listener.shutdown(grace: .seconds(1))
        await serving.value
    }

    /// The workspace's event ids by seq, read from the file.
    private func eventIDs(db: String, workspace: String) throws -> [Int64: String] {
        let database = try Database(path: db, options: DatabaseOptions(readOnly: true))
        defer { database.close() }
        let rows = try database.query("SELECT first_seq, events FROM event_rows WHERE workspace_id = ?", [.text(workspace)]) {
            ($0.int64(at: 0), $0.blob(at: 1) ?? [])
        }
        var ids: [Int64: String] = [:]
        for (first, blob) in rows {
            for (offset, element) in ((try? JSON.parse(blob))?.arrayValue ?? []).enumerated() {
                ids[first + Int64(offset)] = element["id"]?.stringValue ?? ""
            }
        }
        return ids
    }
}
