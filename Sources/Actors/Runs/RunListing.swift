import TroupeCore
import TroupePersistence

/// Lists a workspace's runs from their snapshots, newest first, filtered in SQL: by status
/// (an indexed column), creation time, and workflow (id or slug; its id an indexed column).
public struct RunListing: Sendable {
    /// A page's position: the last run of the page before, by creation time then id.
    public typealias Position = (createdAt: Int64, id: String)

    /// What a list keeps: a status, a workflow (id or slug), a schedule, a creation window; nil
    /// keeps all.
    public struct Filter: Sendable {
        public var status: RunStatus?
        public var workflow: String?
        public var scheduleID: String?
        public var createdAfter: Timestamp?
        public var createdBefore: Timestamp?

        public init() {}
    }

    let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    /// Runs of the workspace queued, running or awaiting approval, counted on `db` (inside a
    /// change, so that a cap on them is exact).
    static func activeCount(_ db: Database, workspaceID: String) throws -> Int {
        Int(try db.scalar("""
            SELECT count(*) FROM snapshots WHERE kind = 'run' AND workspace_id = ? AND status IN ('queued', 'running', 'awaiting_approval')
            """, [.text(workspaceID)])?.integerValue ?? 0)
    }

    /// Up to `limit` runs after `cursor`. A snapshot that does not decode is set aside
    /// (reported, skipped) and the page is filled from the rows after it.
    public func runs(workspaceID: String, filter: Filter, after cursor: Position?, limit: Int) async throws -> [(id: String, state: RunState)] {
        var runs: [(id: String, state: RunState)] = []
        var position = cursor
        while runs.count < limit {
            let wanted = limit - runs.count
            let rows = try await page(workspaceID: workspaceID, filter: filter, after: position, limit: wanted)
            for row in rows {
                do {
                    runs.append((row.id, try RunState(decoding: try JSON.parse(row.blob), schemaVersion: row.version)))
                } catch {
                    store.setAside.record(kind: RunActor.kind, id: row.id, reason: "its snapshot does not decode: \(error)")
                }
            }
            guard rows.count == wanted, let last = rows.last else { break }
            position = (last.createdAt, last.id)
        }
        return runs
    }

    private func page(workspaceID: String, filter: Filter, after cursor: Position?, limit: Int) async throws
        -> [(id: String, blob: [UInt8], version: Int, createdAt: Int64)]
    {
        try await store.reader.read { db in
            var sql = "SELECT id, state, schema_version, created_at FROM snapshots WHERE kind = 'run' AND workspace_id = ?"
            var arguments: [SQLValue] = [.text(workspaceID)]
            if let status = filter.status {
                sql += " AND status = ?"
                arguments.append(.text(status.rawValue))
            }
            if let scheduleID = filter.scheduleID {
                sql += " AND schedule_id = ?"
                arguments.append(.text(scheduleID))
            }
            if let after = filter.createdAfter {
                sql += " AND created_at > ?"
                arguments.append(.integer(after.microsecondsSinceEpoch))
            }
            if let before = filter.createdBefore {
                sql += " AND created_at < ?"
                arguments.append(.integer(before.microsecondsSinceEpoch))
            }
            if let workflow = filter.workflow {
                // By id, or by slug: every workflow that has had it in the workspace, deleted ones
                // included (their runs keep the slug they ran under). Their ids first, so that
                // one workflow's runs come from its index already in order.
                let ids = try db.query("SELECT id FROM workflows WHERE workspace_id = ? AND (id = ? OR slug = ?)",
                                       [.text(workspaceID), .text(workflow), .text(workflow)]) { $0.string(at: 0) ?? "" }
                guard !ids.isEmpty else { return [] }
                sql += " AND workflow_id IN (" + Array(repeating: "?", count: ids.count).joined(separator: ", ") + ")"
                arguments += ids.map(SQLValue.text)
            }
            if let cursor {
                sql += " AND (created_at, id) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            return try db.query(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", arguments + [.integer(Int64(limit))]) { row in
                (row.string(at: 0) ?? "", row.blob(at: 1) ?? [], Int(row.int64(at: 2)), row.int64(at: 3))
            }
        }
    }
}
