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

    /// Appends the entry's line to the buffer. Written field by field into one byte array (no
    /// JSON tree, no `String` per field): this runs once per request.
    func record(_ entry: Entry) {
        guard handle != nil else { return }
        var line = JSONWriter(capacity: 256)
        line.writeRaw(#"{"time":""#.utf8)
        var time: [UInt8] = []
        time.reserveCapacity(24)
        entry.time.appendRFC3339(to: &time)
        line.writeRaw(time)
        line.writeRaw(#"","request_id":"#.utf8)
        line.writeString(entry.requestID)
        line.writeRaw(#","workspace_id":"#.utf8)
        if let workspaceID = entry.workspaceID { line.writeString(workspaceID) } else { line.writeNull() }
        line.writeRaw(#","method":"#.utf8)
        line.writeString(entry.method)
        line.writeRaw(#","route":"#.utf8)
        line.writeString(entry.route)
        line.writeRaw(#","status":"#.utf8)
        line.writeInt(Int64(entry.status))
        line.writeRaw(#","latency_ms":"#.utf8)
        let hundredths = max(0, (entry.latency.nanoseconds + 5_000) / 10_000)
        line.writeInt(hundredths / 100)
        line.writeRaw([UInt8(ascii: "."), 0x30 + UInt8(hundredths / 10 % 10), 0x30 + UInt8(hundredths % 10)])
        if let error = entry.error {
            line.writeRaw(#","error":"#.utf8)
            line.writeString(error)
        }
        line.writeRaw([UInt8(ascii: "}"), 0x0A])
        buffer.withLock { $0 += line.bytes }
    }

    /// Writes the gathered lines; throws what the write threw (the lines are then dropped: a
    /// log that cannot be written is reported by the caller, not kept growing).
    func flush() throws {
        let bytes = buffer.withLock { buffer in
            defer { buffer = [] }
            return buffer
        }
        guard let handle, !bytes.isEmpty else { return }
        try handle.write(contentsOf: Data(bytes))
    }
}
