import TroupeActors
import TroupeCore
import TroupePersistence

/// Lists a workspace's runs from their snapshots, newest first, filtered in SQL: by status
/// (an indexed column), creation time, and workflow (id or slug, read from the snapshot JSON).
struct RunListing: Sendable {
    let store: SnapshotStore

    struct Filter: Sendable {
        var status: RunStatus?
        var workflow: String?
        var createdAfter: Timestamp?
        var createdBefore: Timestamp?
    }

    func runs(workspaceID: String, filter: Filter, after cursor: PageCursor?, limit: Int) async throws -> [(id: String, state: RunState)] {
        let rows = try await store.reader.read { db in
            var sql = "SELECT id, state, schema_version FROM snapshots WHERE kind = 'run' AND workspace_id = ?"
            var arguments: [SQLValue] = [.text(workspaceID)]
            if let status = filter.status {
                sql += " AND status = ?"
                arguments.append(.text(status.rawValue))
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
                sql += " AND ? IN (json_extract(CAST(state AS TEXT), '$.workflow_id'), json_extract(CAST(state AS TEXT), '$.workflow_slug'))"
                arguments.append(.text(workflow))
            }
            if let cursor {
                sql += " AND (created_at, id) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            return try db.query(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", arguments + [.integer(Int64(limit))]) { row in
                (row.string(at: 0) ?? "", row.blob(at: 1) ?? [], Int(row.int64(at: 2)))
            }
        }
        return try rows.map { id, blob, version in (id, try RunState(decoding: try JSON.parse(blob), schemaVersion: version)) }
    }
}
