import TroupeCore
import TroupePersistence

/// The durable per-workspace event log: appended by the ``Journal`` in the transaction of the
/// change that caused the events, read back by streams that resume or fell behind.
///
/// Keyed by `(workspace_id, seq)` without a rowid: a workspace's events are appended at the
/// end of its range, so the table is its own index and an append dirties one leaf. A run's
/// events are found through a partial index on `(workspace_id, run_created_at, run_id, seq)`:
/// keyed by its random id alone, every new run's entries landed on a random page of the index,
/// which cost run creation about a quarter of its throughput (README, Benchmark); under its
/// creation time, a new run's entries append at the end.
public struct EventLog: Sendable {
    public static let migrations = [
        Migration("events-1", sql: """
            CREATE TABLE events (
                workspace_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                id TEXT NOT NULL,
                type TEXT NOT NULL,
                run_id TEXT,
                run_created_at INTEGER,
                data BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, seq)
            ) WITHOUT ROWID;
            CREATE INDEX events_by_run ON events (workspace_id, run_created_at, run_id, seq) WHERE run_id IS NOT NULL;
            """),
    ]

    private let reader: ReadPool
    private let setAside: SetAsideRecords

    public init(reader: ReadPool, setAside: SetAsideRecords) {
        self.reader = reader
        self.setAside = setAside
    }

    /// A run, as its events are indexed: its id and when it was created.
    public struct RunKey: Sendable, Equatable {
        public let id: String
        public let createdAt: Timestamp

        public init(id: String, createdAt: Timestamp) {
            self.id = id
            self.createdAt = createdAt
        }
    }

    /// The workspace's events after `seq`, oldest first, at most `limit`; with `run`, that
    /// run's only.
    public func events(workspaceID: String, run: RunKey? = nil, after seq: Int64, limit: Int) async throws -> [Event] {
        let (events, unreadable) = try await reader.read { db in
            try Self.events(db, workspaceID: workspaceID, run: run, after: seq, limit: limit)
        }
        for (seq, reason) in unreadable { setAside.record(kind: "event", id: "\(workspaceID)/\(seq)", reason: reason) }
        return events
    }

    /// The workspace's last seq (0 before its first event).
    public func lastSeq(workspaceID: String) async throws -> Int64 {
        try await reader.readStatement { db in try Self.lastSeq(db, workspaceID: workspaceID) }
    }

    static func lastSeq(_ db: Database, workspaceID: String) throws -> Int64 {
        try db.scalar("SELECT seq FROM events WHERE workspace_id = ? ORDER BY seq DESC LIMIT 1", [.text(workspaceID)])?.integerValue ?? 0
    }

    /// Numbers `drafts` after each workspace's last seq and inserts them; returns them numbered.
    static func append(_ drafts: [EventDraft], on db: Database, at now: Timestamp) throws -> [Event] {
        var next: [String: Int64] = [:]
        var events: [Event] = []
        events.reserveCapacity(drafts.count)
        for draft in drafts {
            let seq = try next[draft.workspaceID] ?? (lastSeq(db, workspaceID: draft.workspaceID) + 1)
            next[draft.workspaceID] = seq + 1
            let event = Event(id: draft.id, seq: seq, type: draft.type, workspaceID: draft.workspaceID, runID: draft.runID,
                              data: draft.data, encodedData: draft.encodedData, createdAt: now)
            try db.execute("""
                INSERT INTO events (workspace_id, seq, id, type, run_id, run_created_at, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(event.workspaceID), .integer(seq), .text(event.id), .text(event.type.rawValue),
                      event.runID.map(SQLValue.text) ?? .null, draft.runCreatedAt.map { .integer($0.microsecondsSinceEpoch) } ?? .null,
                      .blob(draft.encodedData), .integer(now.microsecondsSinceEpoch)])
            events.append(event)
        }
        return events
    }

    /// Rows that do not decode are returned apart (seq and why), so a stream skips them.
    private static func events(
        _ db: Database, workspaceID: String, run: RunKey?, after seq: Int64, limit: Int
    ) throws -> (events: [Event], unreadable: [(Int64, String)]) {
        let columns = "SELECT seq, id, type, run_id, data, created_at FROM events"
        let sql = run == nil
            ? columns + " WHERE workspace_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            : columns + " WHERE workspace_id = ?1 AND run_created_at = ?5 AND run_id = ?4 AND seq > ?2 ORDER BY seq LIMIT ?3"
        var values: [SQLValue] = [.text(workspaceID), .integer(seq), .integer(Int64(max(0, limit)))]
        if let run { values += [.text(run.id), .integer(run.createdAt.microsecondsSinceEpoch)] }
        var unreadable: [(Int64, String)] = []
        let rows = try db.query(sql, values) { row -> Event? in
            let seq = row.int64(at: 0)
            guard let type = row.string(at: 2).flatMap(EventType.init(rawValue:)) else {
                unreadable.append((seq, "its type \(row.string(at: 2) ?? "null") is unknown"))
                return nil
            }
            let data: JSON
            do {
                data = try JSON.parse(row.blob(at: 4) ?? [])
            } catch {
                unreadable.append((seq, "its data is not JSON: \(error)"))
                return nil
            }
            return Event(id: row.string(at: 1) ?? "", seq: seq, type: type, workspaceID: workspaceID, runID: row.string(at: 3),
                         data: data, encodedData: row.blob(at: 4) ?? [], createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 5)))
        }
        return (rows.compactMap { $0 }, unreadable)
    }
}
