import Foundation
import Testing
import TroupeCore
@testable import TroupeApp

/// The request log's lines: valid JSON with the documented fields, escaped, one per line.
@Suite(.timeLimit(.minutes(5)))
struct RequestLogTests {
    @Test func linesAreJSONWithEveryField() throws {
        let path = NSTemporaryDirectory() + "troupe-log-\(RandomID.make(prefix: "t")).jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        let log = RequestLog(handle: handle)
        let time = Timestamp(millisecondsSinceEpoch: 1_779_181_200_123)
        log.record(RequestLog.Entry(time: time, requestID: #"trace "1"\ok"#, workspaceID: "ws_1", method: "GET",
                                    route: "/v1/auth/me", status: 200, latency: .microseconds(1_234), error: nil))
        log.record(RequestLog.Entry(time: time, requestID: "req_2", workspaceID: nil, method: "POST", route: "unmatched",
                                    status: 500, latency: .nanoseconds(4_999), error: "line\nbreak"))
        try log.flush()
        try handle.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSON.parse(Array(lines[0].utf8))
        #expect(first["time"] == "2026-05-19T09:00:00.123Z")
        #expect(first["request_id"]?.stringValue == #"trace "1"\ok"#)
        #expect(first["workspace_id"] == "ws_1")
        #expect(first["method"] == "GET")
        #expect(first["route"] == "/v1/auth/me")
        #expect(first["status"] == 200)
        #expect(first["latency_ms"] == .double(1.23))
        #expect(first["error"] == nil)
        let second = try JSON.parse(Array(lines[1].utf8))
        #expect(second["workspace_id"]?.isNull == true)
        #expect(second["latency_ms"] == .double(0.0))
        #expect(second["error"] == "line\nbreak")
    }
}
