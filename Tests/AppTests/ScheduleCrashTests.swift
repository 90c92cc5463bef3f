import Foundation
import Glibc
import Testing
import TroupeCore

/// `kill -9` of the real binary under 1-second schedules: no fire time has two runs, and every
/// fire time from a schedule's first run to its last is a run or counted in
/// `missed_catchup_window` (the fire times the server was down for, but the latest).
@Suite(.serialized, .timeLimit(.minutes(3))) struct ScheduleCrashTests {
    private static let schedules = 20

    @Test func eachFireTimeStartsOneRunAcrossACrash() async throws {
        let directory = NSTemporaryDirectory() + "troupe-schedule-crash-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/troupe.db"
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "password_iterations": 1000, "api_key_requests_per_minute": null,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null, "schedules": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        let send = { (port: Int, method: String, target: String, token: String?, json: String) in
            try await TroupeProcess.send(port, method, target, token: token, json: json)
        }

        // At nice 10: what this test checks (no fire twice, none lost) does not depend on how soon
        // fires come, and the suite's timing tests run beside it.
        let launch = TroupeProcess.Launch(niceness: 10)
        let (first, port) = try await TroupeProcess.serve(db: db, config: config, launch: launch)
        let (_, account) = try await send(port, "POST", "/v1/auth/signup", nil,
                                          #"{"email":"tick@example.com","password":"correct horse battery","workspace_name":"Tick"}"#)
        let token = try #require(account["token"]?.stringValue)
        #expect(try await send(port, "POST", "/v1/workflows", token,
                               #"{"slug":"blink","name":"Blink","steps":[{"id":"nap","kind":"wait","duration_ms":100}]}"#).0 == 201)
        var ids: [String] = []
        for _ in 0..<Self.schedules {
            let (status, schedule) = try await send(port, "POST", "/v1/schedules", token,
                                                    #"{"workflow":"blink","every_s":1,"overlap_policy":"allow_all","catchup_window_s":60}"#)
            #expect(status == 201)
            ids.append(try #require(schedule["id"]?.stringValue))
        }
        try await Task.sleep(for: .milliseconds(Int64.random(in: 2_500...3_500)))
        kill(first.processIdentifier, SIGKILL)
        _ = await TroupeProcess.waitForExit(first)
        let killedAt = Timestamp(microsecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000_000))
        try await Task.sleep(for: .milliseconds(2_500))  // fire times pass while it is down

        let (second, again) = try await TroupeProcess.serve(db: db, config: config, launch: launch)
        defer { second.terminate() }
        try await Task.sleep(for: .seconds(3))
        var missedInAll: Int64 = 0
        for id in ids {
            // Paused, it fires no more while its runs and counters are read.
            let (status, paused) = try await send(again, "POST", "/v1/schedules/\(id)/pause", token, "{}")
            #expect(status == 200)
            let (_, listed) = try await send(again, "GET", "/v1/runs?schedule_id=\(id)&limit=200", token, "")
            let times = (listed["data"]?.arrayValue ?? []).compactMap { $0["scheduled_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) }
                .map { $0.microsecondsSinceEpoch / 1_000_000 }.sorted()
            #expect(Set(times).count == times.count, "\(id): a fire time with two runs: \(times)")
            #expect(Int64(times.count) == paused["info"]?["action_count"]?.intValue, "\(id): each run counted once")
            let missed = paused["info"]?["missed_catchup_window"]?.intValue ?? -1
            let gaps = zip(times, times.dropFirst()).reduce(Int64(0)) { $0 + ($1.1 - $1.0 - 1) }
            #expect(gaps == missed, "\(id): \(gaps) fire times have no run, \(missed) were missed as the catch-up rule says: \(times)")
            #expect(times.contains { $0 * 1_000_000 > killedAt.microsecondsSinceEpoch }, "\(id) fired after the restart")
            #expect(paused["info"]?["overlap_skipped"] == 0 && paused["info"]?["failed_fires"] == 0)
            missedInAll += missed
        }
        #expect(missedInAll >= Int64(Self.schedules), "the fire times of the downtime but the latest were missed (\(missedInAll))")
    }
}
