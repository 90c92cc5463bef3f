import TroupeCore
import TroupePersistence

/// The durable per-workspace event log: appended by the ``Journal`` in the transaction of the
/// change that caused the events, read back by streams that resume or fell behind.
///
/// **One row per change and run.** The events a change makes for one run (a new run makes
/// three: created, started, its first step started) are one row holding their seq range and
/// a JSON array of `{id, type, data}`: one table entry and one index entry instead of three
/// each, which cut the event log's cost to run creation by a third. Rows are keyed by
/// `(workspace_id, last_seq)` without a rowid, so a workspace's rows append at the end of its
/// range and `last_seq > after` finds the row that holds `after + 1`. A run's rows are found
/// through a partial index on `(workspace_id, run_created_at, run_id, last_seq)`: keyed by
/// its random id alone, every new run's entries landed on a random page of the index, which
/// cost run creation about a quarter of its throughput (README, Benchmark); under its
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
        // Each event of the first layout becomes a row of its own; one whose data is not JSON
        // keeps its bytes as the row's array, so that reading it sets it aside as before.
        Migration("events-2-rows-per-change", sql: """
            CREATE TABLE event_rows (
                workspace_id TEXT NOT NULL,
                last_seq INTEGER NOT NULL,
                first_seq INTEGER NOT NULL,
                run_id TEXT,
                run_created_at INTEGER,
                events BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, last_seq)
            ) WITHOUT ROWID;
            CREATE INDEX event_rows_by_run ON event_rows (workspace_id, run_created_at, run_id, last_seq) WHERE run_id IS NOT NULL;
            INSERT INTO event_rows (workspace_id, last_seq, first_seq, run_id, run_created_at, events, created_at)
                SELECT workspace_id, seq, seq, run_id, run_created_at,
                       CASE WHEN json_valid(CAST(data AS TEXT))
                            THEN CAST(json_array(json_object('id', id, 'type', type, 'data', json(CAST(data AS TEXT)))) AS BLOB) ELSE data END,
                       created_at
                FROM events;
            DROP TABLE events;
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
    ///
    /// With `maxBytes`, the page stops before the stored rows it reads pass that many bytes
    /// (it holds at least one row): a stream catching up over large events holds a bounded
    /// amount of memory, whatever their size.
    public func events(workspaceID: String, run: RunKey? = nil, after seq: Int64, limit: Int, maxBytes: Int = .max) async throws -> [Event] {
        let (events, unreadable) = try await reader.read { db in
            try Self.events(db, workspaceID: workspaceID, run: run, after: seq, limit: limit, maxBytes: maxBytes)
        }
        for (seqs, reason) in unreadable { setAside.record(kind: "event", id: "\(workspaceID)/\(seqs)", reason: reason) }
        return events
    }

    /// The workspace's last seq (0 before its first event).
    public func lastSeq(workspaceID: String) async throws -> Int64 {
        try await reader.readStatement { db in try Self.lastSeq(db, workspaceID: workspaceID) }
    }

    static func lastSeq(_ db: Database, workspaceID: String) throws -> Int64 {
        try db.scalar("SELECT last_seq FROM event_rows WHERE workspace_id = ? ORDER BY last_seq DESC LIMIT 1", [.text(workspaceID)])?.integerValue ?? 0
    }

    /// Numbers `drafts` after each workspace's last seq and inserts them, a row per run of
    /// consecutive drafts of one workspace and run; returns them numbered.
    static func append(_ drafts: [EventDraft], on db: Database, at now: Timestamp) throws -> [Event] {
        var next: [String: Int64] = [:]
        var events: [Event] = []
        events.reserveCapacity(drafts.count)
        var rowStart = 0
        while rowStart < drafts.count {
            let first = drafts[rowStart]
            var rowEnd = rowStart + 1
            while rowEnd < drafts.count, drafts[rowEnd].workspaceID == first.workspaceID, drafts[rowEnd].runID == first.runID { rowEnd += 1 }
            let firstSeq = try next[first.workspaceID] ?? (lastSeq(db, workspaceID: first.workspaceID) + 1)
            let row = drafts[rowStart..<rowEnd]
            let lastSeq = firstSeq + Int64(row.count - 1)
            next[first.workspaceID] = lastSeq + 1
            var array: [UInt8] = [UInt8(ascii: "[")]
            for (offset, draft) in row.enumerated() {
                if offset > 0 { array.append(UInt8(ascii: ",")) }
                array += #"{"id":"#.utf8
                array += JSON.string(draft.id).bytes
                array += #","type":""#.utf8
                array += draft.type.rawValue.utf8
                array += #"","data":"#.utf8
                array += draft.encodedData
                array.append(UInt8(ascii: "}"))
                events.append(Event(id: draft.id, seq: firstSeq + Int64(offset), type: draft.type, workspaceID: draft.workspaceID,
                                    runID: draft.runID, data: draft.data, encodedData: draft.encodedData, createdAt: now))
            }
            array.append(UInt8(ascii: "]"))
            try db.execute("""
                INSERT INTO event_rows (workspace_id, last_seq, first_seq, run_id, run_created_at, events, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.text(first.workspaceID), .integer(lastSeq), .integer(firstSeq), first.runID.map(SQLValue.text) ?? .null,
                      first.runCreatedAt.map { .integer($0.microsecondsSinceEpoch) } ?? .null, .blob(array), .integer(now.microsecondsSinceEpoch)])
            rowStart = rowEnd
        }
        return events
    }

    /// What does not decode is returned apart (its seq or seq range, and why), so a stream skips it.
    static func events(
        _ db: Database, workspaceID: String, run: RunKey?, after seq: Int64, limit: Int, maxBytes: Int = .max
    ) throws -> (events: [Event], unreadable: [(String, String)]) {
        let filter = run == nil
            ? " WHERE workspace_id = ?1 AND last_seq > ?2 ORDER BY last_seq LIMIT ?3"
            : " WHERE workspace_id = ?1 AND run_created_at = ?5 AND run_id = ?4 AND last_seq > ?2 ORDER BY last_seq LIMIT ?3"
        // A row holds at least one event: `limit` rows hold at least `limit` events.
        var values: [SQLValue] = [.text(workspaceID), .integer(seq), .integer(Int64(max(0, limit)))]
        if let run { values += [.text(run.id), .integer(run.createdAt.microsecondsSinceEpoch)] }
        if maxBytes < .max {
            // The rows' sizes first (no blob is read for it), in the same read transaction: as
            // many rows as fit in `maxBytes`, at least one.
            let sizes = try db.query("SELECT length(events) FROM event_rows" + filter, values) { $0.int64(at: 0) }
            var total: Int64 = 0
            var fitting = 0
            for size in sizes {
                total = total.saturatingAdding(size)
                if fitting > 0 && total > Int64(maxBytes) { break }
                fitting += 1
            }
            values[2] = .integer(Int64(fitting))
        }
        let rows = try db.query("SELECT first_seq, last_seq, run_id, events, created_at FROM event_rows" + filter, values) { row in
            (first: row.int64(at: 0), last: row.int64(at: 1), runID: row.string(at: 2), events: row.blob(at: 3) ?? [],
             createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 4)))
        }
        var unreadable: [(String, String)] = []
        var events: [Event] = []
        for row in rows where events.count < limit {
            let elements: [JSON]
            do {
                elements = try JSON.parse(row.events).arrayValue ?? []
            } catch {
                unreadable.append(("\(row.first)-\(row.last)", "its events are not JSON: \(error)"))
                continue
            }
            guard Int64(elements.count) == row.last - row.first + 1 else {
                unreadable.append(("\(row.first)-\(row.last)", "it holds \(elements.count) events for seqs \(row.first)-\(row.last)"))
                continue
            }
            for (offset, element) in elements.enumerated() {
                let eventSeq = row.first + Int64(offset)
                guard eventSeq > seq, events.count < limit else { continue }
                guard let type = element["type"]?.stringValue.flatMap(EventType.init(rawValue:)), let data = element["data"] else {
                    unreadable.append(("\(eventSeq)", "its type \(element["type"]?.stringValue ?? "null") is unknown or it has no data"))
                    continue
                }
                events.append(Event(id: element["id"]?.stringValue ?? "", seq: eventSeq, type: type, workspaceID: workspaceID,
                                    runID: row.runID, data: data, createdAt: row.createdAt))
            }
        }
        return (events, unreadable)
    }
}
