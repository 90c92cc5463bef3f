import TroupeCore
import TroupePersistence

/// Snapshots in SQLite: one row per actor, keyed by kind and id. Saves go through the
/// ``Journal`` (acknowledged once durable); loads through the read pool. It also holds what
/// every store over the same database shares: the journal, the read pool, the event log and
/// where unreadable records are reported.
public final class SnapshotStore: Sendable {
    /// The row as stored.
    public struct Record: Sendable, Equatable {
        public var kind: String
        public var id: String
        public var schemaVersion: Int
        public var state: [UInt8]
        public var workspaceID: String?
        public var status: String?
        public var updatedAtMicroseconds: Int64
    }

    public static let migrations = [
        Migration("create snapshots", sql: """
            CREATE TABLE snapshots (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                state BLOB NOT NULL,
                workspace_id TEXT,
                status TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (kind, id)
            ) WITHOUT ROWID;
            CREATE INDEX snapshots_by_workspace ON snapshots (kind, workspace_id, created_at);
            """)
    ]

    /// The only way state changes: every store hands its writes to it.
    public let journal: Journal
    public let reader: ReadPool
    public let events: EventLog
    public let audit: AuditLog
    /// Where every store over this database reports a record it cannot read or apply.
    public let setAside: SetAsideRecords
    /// Only the journal submits changes; the runtime closes it.
    let writer: GroupCommitWriter

    public init(writer: GroupCommitWriter, reader: ReadPool, clock: any WallClock,
                setAside: SetAsideRecords = SetAsideRecords(logger: .discarding), bus: EventBus = EventBus()) {
        self.writer = writer
        self.reader = reader
        self.setAside = setAside
        journal = Journal(writer: writer, clock: clock, bus: bus, outbox: WebhookOutbox())
        events = EventLog(reader: reader, setAside: setAside)
        audit = AuditLog(reader: reader)
    }

    /// Throws unless the database answers a read (`/readyz`).
    public func checkReadable() async throws {
        _ = try await reader.read { db in try db.scalar("SELECT 1") }
    }

    /// The writer's counters (for `/metrics`).
    public var writerStatistics: GroupCommitWriter.Statistics { writer.stats }

    public func load(kind: String, id: String) async throws -> Record? {
        try await reader.readStatement { db in try Self.record(db, kind: kind, id: id) }
    }

    /// The stored row of `kind`/`id`, read on `db` (inside a change, it sees the change's writes).
    public static func record(_ db: Database, kind: String, id: String) throws -> Record? {
        try db.query(
            "SELECT schema_version, state, workspace_id, status, updated_at FROM snapshots WHERE kind = ? AND id = ?",
            [.text(kind), .text(id)]
        ) { row in
            Record(kind: kind, id: id, schemaVersion: Int(row.int64(at: 0)), state: row.blob(at: 1) ?? [],
                   workspaceID: row.string(at: 2), status: row.string(at: 3), updatedAtMicroseconds: row.int64(at: 4))
        }.first
    }

    /// Saves `state` for `kind`/`id` and returns once it is durable.
    public func save<S: Snapshot>(_ state: S, kind: String, id: String, at now: Timestamp, origin: ChangeOrigin = .system) async throws {
        let change = Self.saveChange(state, kind: kind, id: id, at: now)
        try await journal.commit(origin) { db in try change(db) }
    }

    /// The write of a snapshot as a change, to commit together with others (events, audit).
    public static func saveChange<S: Snapshot>(
        _ state: S, kind: String, id: String, at now: Timestamp
    ) -> @Sendable (Database) throws -> Void {
        let blob = state.encoded().bytes
        let values: [SQLValue] = [
            .text(kind), .text(id), .integer(Int64(S.schemaVersion)), .blob(blob),
            state.workspaceID.map(SQLValue.text) ?? .null, state.status.map(SQLValue.text) ?? .null,
            .integer(now.microsecondsSinceEpoch), state.listedWorkflowID.map(SQLValue.text) ?? .null,
            state.listedScheduleID.map(SQLValue.text) ?? .null,
        ]
        return { db in
            // workflow_id and schedule_id are written with the row only: they never change, and
            // leaving them out of the update spares their indexes a write at every transition.
            try db.execute("""
                INSERT INTO snapshots (kind, id, schema_version, state, workspace_id, status, created_at, updated_at, workflow_id, schedule_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)
                ON CONFLICT (kind, id) DO UPDATE SET schema_version = ?3, state = ?4, workspace_id = ?5,
                    status = ?6, updated_at = ?7
                """, values)
        }
    }
}
