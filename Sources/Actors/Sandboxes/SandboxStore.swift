import TroupeCore
import TroupePersistence

/// The sandboxes' rows: each state a ``SandboxActor`` reaches is written through the journal,
/// with its event (`sandbox.ready`, `sandbox.exec_finished`, `sandbox.terminated`). The
/// launcher of the exec under way is recorded too, so that a server started after a crash
/// finds the process groups to sweep.
public final class SandboxStore: Sendable {
    public static let migrations = [
        Migration("sandboxes-1", sql: """
            CREATE TABLE sandboxes (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                status TEXT NOT NULL,
                resource_limits TEXT NOT NULL,
                run_id TEXT,
                slot INTEGER NOT NULL,
                isolation TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                terminated_at INTEGER,
                reason TEXT,
                launcher_id INTEGER
            ) WITHOUT ROWID;
            CREATE INDEX sandboxes_listed ON sandboxes (workspace_id, created_at, id);
            CREATE INDEX sandboxes_live ON sandboxes (status) WHERE status NOT IN ('terminated', 'failed');
            """),
    ]

    private let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    func insert(_ sandbox: SandboxRecord, origin: ChangeOrigin) async throws {
        try await store.journal.commit(origin) { db in
            try db.execute("""
                INSERT INTO sandboxes (id, workspace_id, status, resource_limits, run_id, slot, isolation, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(sandbox.id), .text(sandbox.workspaceID), .text(sandbox.status.rawValue), .text(sandbox.limits.json.text),
                      sandbox.runID.map(SQLValue.text) ?? .null, .integer(Int64(sandbox.slot)),
                      .text(JSON.array(sandbox.isolation.map(JSON.string)).text),
                      .integer(sandbox.createdAt.microsecondsSinceEpoch), .integer(sandbox.expiresAt.microsecondsSinceEpoch)])
        }
    }

    /// Writes the sandbox's status (and end), the launcher under way, and `event` if any.
    func update(_ sandbox: SandboxRecord, launcherID: Int32?, event: (EventType, JSON)?, origin: ChangeOrigin = .system) async throws {
        try await store.journal.commit(Change(origin) { transaction in
            try transaction.db.execute("""
                UPDATE sandboxes SET status = ?, terminated_at = ?, reason = ?, launcher_id = ? WHERE id = ?
                """, [.text(sandbox.status.rawValue), sandbox.terminatedAt.map { .integer($0.microsecondsSinceEpoch) } ?? .null,
                      sandbox.reason.map(SQLValue.text) ?? .null, launcherID.map { .integer(Int64($0)) } ?? .null, .text(sandbox.id)])
            if let (type, data) = event {
                var object = data.objectValue ?? JSONObject()
                object["sandbox"] = sandbox.json
                transaction.emit(EventDraft(type, workspaceID: sandbox.workspaceID, runID: sandbox.runID, runCreatedAt: nil,
                                            data: .object(object)))
            }
        })
    }

    public func sandbox(id: String, workspaceID: String) async throws -> SandboxRecord? {
        let rows = try await store.reader.readStatement { db in
            try db.query(Self.columns + " WHERE id = ? AND workspace_id = ?", [.text(id), .text(workspaceID)], row: Self.row)
        }
        return rows.first.flatMap(read)
    }

    public func sandboxes(workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [SandboxRecord] {
        let rows = try await store.reader.readStatement { db in
            try db.query(Self.columns + """
                 WHERE workspace_id = ?1 AND (?2 IS NULL OR (created_at, id) < (?2, ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4
                """, [.text(workspaceID), cursor.map { .integer($0.createdAt) } ?? .null, .text(cursor?.id ?? ""), .integer(Int64(limit))],
                row: Self.row)
        }
        return rows.compactMap(read)
    }

    /// Every sandbox not yet terminated or failed, with the launcher it had under way: what a
    /// start recovers. One whose row does not read is set aside.
    func live() async throws -> [(sandbox: SandboxRecord, launcherID: Int32?)] {
        let rows = try await store.reader.readStatement { db in
            try db.query(Self.columns + " WHERE status NOT IN ('terminated', 'failed')", [], row: Self.row)
        }
        return rows.compactMap { row in read(row).map { ($0, row.launcherID) } }
    }

    /// A row as read, before its JSON columns are checked.
    private struct Row: Sendable {
        var id, workspaceID, status, limits, isolation: String
        var runID, reason: String?
        var slot, createdAt, expiresAt: Int64
        var terminatedAt: Int64?
        var launcherID: Int32?
    }

    private static let columns = """
        SELECT id, workspace_id, status, resource_limits, run_id, slot, isolation, created_at, expires_at, terminated_at, reason, launcher_id
        FROM sandboxes
        """

    private static func row(_ statement: Statement) -> Row {
        Row(id: statement.string(at: 0) ?? "", workspaceID: statement.string(at: 1) ?? "", status: statement.string(at: 2) ?? "",
            limits: statement.string(at: 3) ?? "", isolation: statement.string(at: 6) ?? "",
            runID: statement.string(at: 4), reason: statement.string(at: 10), slot: statement.int64(at: 5),
            createdAt: statement.int64(at: 7), expiresAt: statement.int64(at: 8),
            terminatedAt: statement.isNull(at: 9) ? nil : statement.int64(at: 9),
            launcherID: statement.isNull(at: 11) ? nil : Int32(exactly: statement.int64(at: 11)))
    }

    /// The record, or nil (set aside, with why) when its status, limits or isolation do not read.
    private func read(_ row: Row) -> SandboxRecord? {
        let limits: SandboxLimits
        let isolation: [String]
        do {
            let parsedLimits = SandboxLimits.parse(try JSON.parse(Array(row.limits.utf8)))
            guard parsedLimits.problems.isEmpty else { throw SandboxRowProblem("its resource limits are out of range") }
            guard let names = try JSON.parse(Array(row.isolation.utf8)).arrayValue?.compactMap(\.stringValue) else {
                throw SandboxRowProblem("its isolation is not an array")
            }
            limits = parsedLimits.limits
            isolation = names
        } catch {
            store.setAside.record(kind: "sandbox", id: row.id, reason: "\(error)")
            return nil
        }
        guard let status = SandboxRecord.Status(rawValue: row.status), let slot = Int(exactly: row.slot) else {
            store.setAside.record(kind: "sandbox", id: row.id, reason: "its status or slot does not read")
            return nil
        }
        return SandboxRecord(id: row.id, workspaceID: row.workspaceID, status: status, limits: limits, runID: row.runID,
                             slot: slot, createdAt: Timestamp(microsecondsSinceEpoch: row.createdAt),
                             expiresAt: Timestamp(microsecondsSinceEpoch: row.expiresAt),
                             terminatedAt: row.terminatedAt.map { Timestamp(microsecondsSinceEpoch: $0) }, reason: row.reason,
                             isolation: isolation)
    }
}

/// Why a stored sandbox row does not read.
private struct SandboxRowProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
