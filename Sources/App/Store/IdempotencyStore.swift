import TroupeActors
import TroupeCore
import TroupePersistence

/// The first response given to an `Idempotency-Key` of a workspace.
struct StoredResponse: Sendable, Equatable {
    /// SHA-256 of the method, route and body that produced it.
    let requestHash: [UInt8]
    let status: Int
    let contentType: String?
    let body: [UInt8]
}

/// `idempotency_keys`: one row per workspace and key, good for ``lifetime``; an older row is
/// ignored and replaced, and ``prune(at:)`` deletes them.
struct IdempotencyStore: Sendable {
    static let lifetime = Duration.seconds(24 * 3600)

    let store: SnapshotStore

    /// The response stored for `key` within the last 24 hours, if any.
    func response(workspaceID: String, key: String, at now: Timestamp) async throws -> StoredResponse? {
        let since = (now + (.zero - Self.lifetime)).microsecondsSinceEpoch
        return try await store.reader.readStatement { db in
            try db.query("""
                SELECT request_hash, status, content_type, body FROM idempotency_keys
                WHERE workspace_id = ? AND key = ? AND created_at > ?
                """, [.text(workspaceID), .text(key), .integer(since)]) { row in
                StoredResponse(requestHash: row.blob(at: 0) ?? [], status: Int(row.int64(at: 1)), contentType: row.string(at: 2),
                               body: row.blob(at: 3) ?? [])
            }.first
        }
    }

    /// Keeps `response` as the answer to `key`.
    func save(_ response: StoredResponse, workspaceID: String, key: String, at now: Timestamp) async throws {
        try await store.writer.submit(Self.saveChange(response, workspaceID: workspaceID, key: key, at: now))
    }

    /// The write that keeps `response` as the answer to `key` (replacing an expired row).
    static func saveChange(_ response: StoredResponse, workspaceID: String, key: String, at now: Timestamp) -> @Sendable (Database) throws -> Void {
        { db in
            try db.execute("""
                INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, content_type, body, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (workspace_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
                    content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at
                """, [.text(workspaceID), .text(key), .blob(response.requestHash), .integer(Int64(response.status)),
                      response.contentType.map(SQLValue.text) ?? SQLValue.null, .blob(response.body), .integer(now.microsecondsSinceEpoch)])
        }
    }

    /// Deletes the rows past their 24 hours.
    func prune(at now: Timestamp) async throws {
        let before = (now + (.zero - Self.lifetime)).microsecondsSinceEpoch
        try await store.writer.submit { db in
            try db.execute("DELETE FROM idempotency_keys WHERE created_at <= ?", [.integer(before)])
        }
    }
}
