import TroupeCore
import TroupePersistence

/// The first response given to an `Idempotency-Key` of a workspace.
public struct StoredResponse: Sendable, Equatable {
    /// SHA-256 of the method, target and body that produced it.
    public let requestHash: [UInt8]
    /// Who sent it (``Principal/identity``); nil for answers stored before it was kept.
    public let principal: String?
    public let status: Int
    public let contentType: String?
    /// The body, or (when `sealed`) the body in a ``SealedBox`` under a key derived from the
    /// Idempotency-Key and the server's secret.
    public let body: [UInt8]
    public let sealed: Bool

    public init(requestHash: [UInt8], principal: String?, status: Int, contentType: String?, body: [UInt8], sealed: Bool) {
        self.requestHash = requestHash
        self.principal = principal
        self.status = status
        self.contentType = contentType
        self.body = body
        self.sealed = sealed
    }
}

/// `idempotency_keys`: one row per workspace and key — the key kept only as its SHA-256 —
/// good for ``lifetime``; an older row is ignored and replaced, and ``prune(at:)`` deletes them.
public struct IdempotencyStore: Sendable {
    public static let lifetime = Duration.seconds(24 * 3600)
    /// Fields of an answer that hold a secret shown once: such an answer is stored sealed.
    public static let secretFields: Set<String> = ["raw_key", "invite_token", "secret"]

    /// Keys stored as their hash, with who sent them and whether the answer is sealed. Answers
    /// stored in the clear before this that hold a secret are deleted: kept, they would leave a
    /// raw API key or invitation token readable in a copy of the database.
    public static let migration = Migration("idempotency-2") { db in
        try db.execute("ALTER TABLE idempotency_keys ADD COLUMN principal TEXT")
        try db.execute("ALTER TABLE idempotency_keys ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0")
        let rows = try db.query("SELECT workspace_id, key, body FROM idempotency_keys") { row in
            (row.string(at: 0) ?? "", row.string(at: 1) ?? "", row.blob(at: 2) ?? [])
        }
        for (workspaceID, key, body) in rows {
            let holdsSecret: Bool
            do {
                holdsSecret = try JSON.parse(body).objectValue?.keys.contains(where: secretFields.contains) ?? false
            } catch {
                holdsSecret = false
            }
            if holdsSecret {
                try db.execute("DELETE FROM idempotency_keys WHERE workspace_id = ? AND key = ?", [.text(workspaceID), .text(key)])
            } else {
                try db.execute("UPDATE idempotency_keys SET key = ? WHERE workspace_id = ? AND key = ?",
                               [.text(keyHash(key)), .text(workspaceID), .text(key)])
            }
        }
    }

    public let store: SnapshotStore

    /// How a key is kept: hex SHA-256, so that the database never holds the key itself.
    public static func keyHash(_ key: String) -> String { Hex.encode(SHA256.hash(key)) }

    /// The response stored for the key hashed as `keyHash` within the last 24 hours, if any.
    public func response(workspaceID: String, keyHash: String, at now: Timestamp) async throws -> StoredResponse? {
        let since = (now + (.zero - Self.lifetime)).microsecondsSinceEpoch
        return try await store.reader.readStatement { db in
            try db.query("""
                SELECT request_hash, principal, status, content_type, body, sealed FROM idempotency_keys
                WHERE workspace_id = ? AND key = ? AND created_at > ?
                """, [.text(workspaceID), .text(keyHash), .integer(since)]) { row in
                StoredResponse(requestHash: row.blob(at: 0) ?? [], principal: row.string(at: 1), status: Int(row.int64(at: 2)),
                               contentType: row.string(at: 3), body: row.blob(at: 4) ?? [], sealed: row.int64(at: 5) != 0)
            }.first
        }
    }

    /// Keeps `response` as the answer to the key hashed as `keyHash`.
    public func save(_ response: StoredResponse, workspaceID: String, keyHash: String, at now: Timestamp, origin: ChangeOrigin) async throws {
        try await store.journal.commit(origin, Self.saveChange(response, workspaceID: workspaceID, keyHash: keyHash, at: now))
    }

    /// The write that keeps `response` as the answer to `keyHash` (replacing an expired row).
    public static func saveChange(_ response: StoredResponse, workspaceID: String, keyHash: String, at now: Timestamp) -> @Sendable (Database) throws -> Void {
        { db in
            try db.execute("""
                INSERT INTO idempotency_keys (workspace_id, key, request_hash, principal, status, content_type, body, sealed, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (workspace_id, key) DO UPDATE SET request_hash = excluded.request_hash, principal = excluded.principal,
                    status = excluded.status, content_type = excluded.content_type, body = excluded.body, sealed = excluded.sealed,
                    created_at = excluded.created_at
                """, [.text(workspaceID), .text(keyHash), .blob(response.requestHash), response.principal.map(SQLValue.text) ?? .null,
                      .integer(Int64(response.status)), response.contentType.map(SQLValue.text) ?? SQLValue.null, .blob(response.body),
                      .integer(response.sealed ? 1 : 0), .integer(now.microsecondsSinceEpoch)])
        }
    }

    /// Deletes the rows past their 24 hours.
    public func prune(at now: Timestamp) async throws {
        let before = (now + (.zero - Self.lifetime)).microsecondsSinceEpoch
        try await store.journal.commit(.system) { db in
            try db.execute("DELETE FROM idempotency_keys WHERE created_at <= ?", [.integer(before)])
        }
    }

    public init(store: SnapshotStore) {
        self.store = store
    }
}
