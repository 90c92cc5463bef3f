import TroupeCore
import TroupePersistence

/// Something that must happen at a time (DESIGN.md, "One durable clock"): a row of `due_work`,
/// written in the transaction of the change that makes it due
/// (``JournalTransaction/schedule(_:)``) and removed in the transaction of the change that
/// fires it, so that a restart forgets nothing and nothing fires twice. ``Scheduler`` fires
/// the rows whose time has come.
public struct DueWork: Sendable, Equatable {
    /// Who fires it (``Scheduler/register(_:_:)``): `run.wait`, later leases, back-offs, schedules.
    public let kind: String
    /// Which one, unique within its kind (`<run>/<step>`): scheduling it again moves it.
    public let key: String
    public let workspaceID: String
    public let dueAt: Timestamp
    public let payload: [UInt8]

    public init(kind: String, key: String, workspaceID: String, dueAt: Timestamp, payload: [UInt8] = []) {
        self.kind = kind
        self.key = key
        self.workspaceID = workspaceID
        self.dueAt = dueAt
        self.payload = payload
    }

    /// What the row is about: its workspace and its key up to the first `/` (a run, for
    /// `<run>/<step>`). A subject's rows fire in order, one at a time; different subjects' fire
    /// side by side.
    struct Subject: Hashable, Sendable {
        let workspaceID: String
        let name: Substring
    }

    var subject: Subject {
        Subject(workspaceID: workspaceID, name: key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    static let migration = Migration("due-1 due work", sql: """
        CREATE TABLE due_work (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            workspace_id TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            payload BLOB NOT NULL,
            PRIMARY KEY (kind, key)
        ) WITHOUT ROWID;
        CREATE INDEX due_work_by_time ON due_work (due_at, kind, key);
        """)

    /// Writes the row, moving one of the same kind and key.
    func insert(on db: Database) throws {
        try db.execute("""
            INSERT INTO due_work (kind, key, workspace_id, due_at, payload) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, key) DO UPDATE SET workspace_id = excluded.workspace_id, due_at = excluded.due_at, payload = excluded.payload
            """, [.text(kind), .text(key), .text(workspaceID), .integer(dueAt.microsecondsSinceEpoch), .blob(payload)])
    }

    /// Removes the row of `kind` and `key`, if there is one.
    static func delete(kind: String, key: String, on db: Database) throws {
        try db.execute("DELETE FROM due_work WHERE kind = ? AND key = ?", [.text(kind), .text(key)])
    }

    /// The rows due at `now`, earliest first, at most `limit`.
    static func due(on db: Database, at now: Timestamp, limit: Int) throws -> [DueWork] {
        try db.query("SELECT kind, key, workspace_id, due_at, payload FROM due_work WHERE due_at <= ? ORDER BY due_at, kind, key LIMIT ?",
                     [.integer(now.microsecondsSinceEpoch), .integer(Int64(limit))]) { row in
            DueWork(kind: row.string(at: 0) ?? "", key: row.string(at: 1) ?? "", workspaceID: row.string(at: 2) ?? "",
                    dueAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 3)), payload: row.blob(at: 4) ?? [])
        }
    }

    /// When the earliest row falls due, if there is one.
    static func earliest(on db: Database) throws -> Timestamp? {
        try db.scalar("SELECT min(due_at) FROM due_work")?.integerValue.map { Timestamp(microsecondsSinceEpoch: $0) }
    }
}
