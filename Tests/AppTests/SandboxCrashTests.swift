import Foundation
import Glibc
import Testing
import TroupeCore
import TroupePersistence
import TroupeTestSupport
import TroupeTransport

/// `kill -9` of the real binary while an API sandbox and a run's sandbox step each run a
/// command: nothing of theirs survives the crash or the restart, the busy sandbox is `ready`
/// again with its exec reported interrupted, and the step goes on with its next attempt.
@Suite(.serialized, .timeLimit(.minutes(5))) struct SandboxCrashTests {

    private func send(_ port: Int, _ method: String, _ target: String, token: String?, json: String = "") async throws -> (Int, JSON) {
        try await TroupeProcess.send(port, method, target, token: token, json: json)
    }

    /// Polls `target` until `done` holds of its answer (up to 10 s); the last answer.
    private func poll(_ port: Int, _ target: String, _ token: String, until done: (JSON) -> Bool) async throws -> JSON {
        var answer = JSON.null
        for _ in 0..<500 {
            answer = try await send(port, "GET", target, token: token).1
            if done(answer) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return answer
    }

    /// Root: the uids tell the sandboxes' processes apart (without root there are none).
    @Test(.enabled(if: Prerequisite.met(Prerequisite.isRoot), "root"))
    func aCrashLeavesNoProcessAndSandboxesGoOn() async throws {
        let directory = NSTemporaryDirectory() + "troupe-sandbox-crash-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let uidBase = SandboxUIDRange.freshBase()
        let db = directory + "/troupe.db"
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "sandbox_exec": true, "sandbox_uid_base": \#(uidBase), "sandbox_root": "\#(directory)/sandboxes", "password_iterations": 1000,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        let (first, port) = try await TroupeProcess.serve(db: db, config: config)
        let (_, account) = try await send(port, "POST", "/v1/auth/signup", token: nil,
                                          json: #"{"email":"crash@example.com","password":"correct horse battery","workspace_name":"Crash"}"#)
        let token = try #require(account["token"]?.stringValue)

        // An API sandbox, busy with a long command.
        let (_, created) = try await send(port, "POST", "/v1/sandboxes", token: token, json: "{}")
        let box = try #require(created["id"]?.stringValue)
        _ = try await poll(port, "/v1/sandboxes/\(box)", token) { $0["status"] == "ready" }
        let hanging = Task { try? await send(port, "POST", "/v1/sandboxes/\(box)/exec", token: token, json: #"{"argv":["sh","-c","sleep 60; true"]}"#) }
        _ = try await poll(port, "/v1/sandboxes/\(box)", token) { $0["status"] == "busy" }

        // A run whose sandbox step sleeps on its first attempt only.
        let script = #"if [ \"$TROUPE_ATTEMPT\" = 1 ]; then sleep 60; fi; echo attempt $TROUPE_ATTEMPT"#
        #expect(try await send(port, "POST", "/v1/workflows", token: token, json: #"""
            {"slug":"box","name":"Box","steps":[{"id":"sh","kind":"sandbox","max_attempts":2,"argv":["sh","-c","\#(script)"]}]}
            """#).0 == 201)
        let (_, run) = try await send(port, "POST", "/v1/runs", token: token, json: #"{"workflow":"box"}"#)
        let runID = try #require(run["id"]?.stringValue)
        _ = try await poll(port, "/v1/runs/\(runID)", token) { $0["steps"]?.arrayValue?.first?["attempts"] == 1 }
        // Looked for every 100 ms, not in a tight loop: the commands run at idle priority, and a
        // busy search of /proc would itself keep them from forking their sleeps.
        for _ in 0..<100 where ProcessTable.pids(uids: uidBase..<uidBase + 65_536).count < 4 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(ProcessTable.pids(uids: uidBase..<uidBase + 65_536).count >= 4, "both commands and their sleeps run")

        kill(first.processIdentifier, SIGKILL)
        _ = await TroupeProcess.waitForExit(first)
        _ = await hanging.value
        for _ in 0..<100 where !ProcessTable.pids(uids: uidBase..<uidBase + 65_536).isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        #expect(ProcessTable.pids(uids: uidBase..<uidBase + 65_536).isEmpty, "nothing of the sandboxes outlives the server")

        let (second, again) = try await TroupeProcess.serve(db: db, config: config)
        let recovered = try await poll(again, "/v1/sandboxes/\(box)", token) { $0["status"] == "ready" }
        #expect(recovered["status"] == "ready", "a busy sandbox is ready again")
        let finished = try await poll(again, "/v1/runs/\(runID)", token) { $0["status"] == "succeeded" }
        #expect(finished["status"] == "succeeded")
        #expect(finished["steps"]?.arrayValue?.first?["attempts"] == 2)
        #expect(finished["steps"]?.arrayValue?.first?["output"]?["stdout"] == "attempt 2\n")
        let (_, listed) = try await send(again, "GET", "/v1/sandboxes", token: token)
        let stepBoxes = listed["data"]?.arrayValue?.filter { $0["run_id"]?.stringValue == runID } ?? []
        #expect(stepBoxes.count == 2)
        #expect(stepBoxes.allSatisfy { $0["status"] == "terminated" })
        #expect(stepBoxes.contains { $0["reason"] == "its run step was interrupted" })
        #expect(try await send(again, "POST", "/v1/sandboxes/\(box)/exec", token: token, json: #"{"argv":["true"]}"#).1["exit_code"] == 0)
        second.terminate()
        _ = await TroupeProcess.waitForExit(second)
        #expect(ProcessTable.pids(uids: uidBase..<uidBase + 65_536).isEmpty)

        let database = try Database(path: db, options: DatabaseOptions(readOnly: true))
        defer { database.close() }
        // The log keeps each change's events as one row: an array of {id, type, data}.
        let events = try database.query("SELECT events FROM event_rows") { (try? JSON.parse($0.blob(at: 0) ?? []))?.arrayValue ?? [] }.joined()
        let interrupted = events.filter {
            $0["type"] == "sandbox.exec_finished" && $0["data"]?["sandbox"]?["id"]?.stringValue == box
                && $0["data"]?["error"]?.stringValue?.hasPrefix("interrupted") == true
        }
        #expect(interrupted.count == 1, "the interrupted exec is reported once")
    }
}
