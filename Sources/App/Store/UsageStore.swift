import TroupeActors
import TroupeCore
import TroupePersistence

/// Requests counted per workspace and UTC day: counted in memory, added to `usage_daily` in
/// one transaction per flush (about once a second), never a write per request.
final class UsageStore: Sendable {
    private struct Key: Hashable {
        let workspaceID: String
        let day: String
    }

    private let store: SnapshotStore
    private let pending = LockedBox<[Key: Int]>([:])

    init(store: SnapshotStore) {
        self.store = store
    }

    /// `YYYY-MM-DD` of `time` in UTC.
    static func day(_ time: Timestamp) -> String { String(time.rfc3339.prefix(10)) }

    func countRequest(workspaceID: String, at time: Timestamp) {
        let key = Key(workspaceID: workspaceID, day: Self.day(time))
        pending.withLock { $0[key, default: 0] += 1 }
    }

    func flush() async {
        let counts = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !counts.isEmpty else { return }
        do {
            try await store.writer.submit { db in
                for (key, count) in counts {
                    try db.execute("""
                        INSERT INTO usage_daily (workspace_id, day, requests) VALUES (?, ?, ?)
                        ON CONFLICT (workspace_id, day) DO UPDATE SET requests = requests + excluded.requests
                        """, [.text(key.workspaceID), .text(key.day), .integer(Int64(count))])
                }
            }
        } catch {
            pending.withLock { pending in pending.merge(counts, uniquingKeysWith: +) }
        }
    }

    /// Requests of `workspaceID` on the days from `from` to `to` (inclusive), written or not.
    func requests(workspaceID: String, from: String, to: String) async throws -> Int {
        let stored = try await store.reader.read { db in
            try db.scalar("SELECT coalesce(sum(requests), 0) FROM usage_daily WHERE workspace_id = ? AND day >= ? AND day <= ?",
                          [.text(workspaceID), .text(from), .text(to)])?.integerValue ?? 0
        }
        let unwritten = pending.withLock { pending in
            pending.filter { $0.key.workspaceID == workspaceID && $0.key.day >= from && $0.key.day <= to }.values.reduce(0, +)
        }
        return Int(stored) + unwritten
    }
}
