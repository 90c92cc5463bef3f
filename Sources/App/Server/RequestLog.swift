import Foundation
import TroupeCore

/// One JSON line per request (time, request id, workspace, route, status, latency) — never a
/// token, key or password. Lines are gathered in memory and written by ``flush()`` so a
/// request never waits on the log's file.
final class RequestLog: Sendable {
    private let buffer = LockedBox<[UInt8]>([])
    private let handle: FileHandle?

    /// A log to `handle`; nil discards lines (tests that don't read them).
    init(handle: FileHandle?) {
        self.handle = handle
    }

    struct Entry: Sendable {
        var time: Timestamp
        var requestID: String
        var workspaceID: String?
        var method: String
        var route: String
        var status: Int
        var latency: Duration
        var error: String?
    }

    func record(_ entry: Entry) {
        guard handle != nil else { return }
        var object = JSONObject([
            ("time", .string(entry.time.rfc3339)), ("request_id", .string(entry.requestID)),
            ("workspace_id", entry.workspaceID.map(JSON.string) ?? .null), ("method", .string(entry.method)),
            ("route", .string(entry.route)), ("status", .int(Int64(entry.status))),
            ("latency_ms", .double((Double(entry.latency.nanoseconds) / 1e4).rounded() / 100)),
        ])
        if let error = entry.error { object["error"] = .string(error) }
        let line = JSON.object(object).bytes + [0x0A]
        buffer.withLock { $0 += line }
    }

    /// Writes the gathered lines.
    func flush() {
        let bytes = buffer.withLock { buffer in
            defer { buffer = [] }
            return buffer
        }
        guard let handle, !bytes.isEmpty else { return }
        try? handle.write(contentsOf: Data(bytes))
    }
}
