import TroupeCore
import TroupePersistence

/// Requests counted per workspace and UTC day: counted in memory, added to `usage_daily` in
/// one transaction per flush (about once a second), never a write per request.
public final class UsageStore: Sendable {
    /// A workspace and a UTC day as days since the epoch (formatted only when written or read).
    private struct Key: Hashable {
        let workspaceID: String
        let day: Int64
    }

    private let store: SnapshotStore
    private let pending = LockedBox<[Key: Int]>([:])

    public init(store: SnapshotStore) {
        self.store = store
    }

    /// `YYYY-MM-DD` of `time` in UTC.
    public static func day(_ time: Timestamp) -> String { String(time.rfc3339.prefix(10)) }

    private static func dayNumber(_ time: Timestamp) -> Int64 {
        let microsPerDay: Int64 = 86_400_000_000
        let micros = time.microsecondsSinceEpoch
        return micros >= 0 ? micros / microsPerDay : (micros + 1) / microsPerDay - 1
    }

    private static func day(number: Int64) -> String { day(Timestamp(microsecondsSinceEpoch: number * 86_400_000_000)) }

    /// Counts one request: a dictionary update under a lock, no formatting on the request path.
    public func countRequest(workspaceID: String, at time: Timestamp) {
        let key = Key(workspaceID: workspaceID, day: Self.dayNumber(time))
        pending.withLock { $0[key, default: 0] += 1 }
    }

    public func flush() async throws {
        let counts = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !counts.isEmpty else { return }
        do {
            try await store.journal.commit(.system) { db in
                for (key, count) in counts {
                    try db.execute("""
                        INSERT INTO usage_daily (workspace_id, day, requests) VALUES (?, ?, ?)
                        ON CONFLICT (workspace_id, day) DO UPDATE SET requests = requests + excluded.requests
                        """, [.text(key.workspaceID), .text(Self.day(number: key.day)), .integer(Int64(count))])
                }
            }
        } catch {
            pending.withLock { pending in pending.merge(counts, uniquingKeysWith: +) }
            throw error
        }
    }

    /// Requests of `workspaceID` on the days from `from` to `to` (inclusive), written or not.
    public func requests(workspaceID: String, from: String, to: String) async throws -> Int {
        let stored = try await store.reader.read { db in
            try db.scalar("SELECT coalesce(sum(requests), 0) FROM usage_daily WHERE workspace_id = ? AND day >= ? AND day <= ?",
                          [.text(workspaceID), .text(from), .text(to)])?.integerValue ?? 0
        }
        let unwritten = pending.withLock { pending in
            pending.filter { entry in
                guard entry.key.workspaceID == workspaceID else { return false }
                let day = Self.day(number: entry.key.day)
                return day >= from && day <= to
            }.values.reduce(0, +)
        }
        return Int(stored) + unwritten
    }
}
