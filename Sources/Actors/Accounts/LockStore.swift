import TroupeCore
import TroupePersistence

/// A held lock, as the API shows it.
public struct LockRecord: Sendable {
    public let key: String
    public let owner: String
    public let fencingToken: Int64
    public let acquiredAt: Timestamp
    public let expiresAt: Timestamp

    public var json: JSON {
        .object(JSONObject([
            ("key", .string(key)), ("owner", .string(owner)), ("fencing_token", .int(fencingToken)),
            ("acquired_at", .string(acquiredAt.rfc3339)), ("expires_at", .string(expiresAt.rfc3339)),
        ]))
    }

    public init(key: String, owner: String, fencingToken: Int64, acquiredAt: Timestamp, expiresAt: Timestamp) {
        self.key = key
        self.owner = owner
        self.fencingToken = fencingToken
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
    }
}

/// Workspace-scoped leases (API.md, Locks). Each change is one writer transaction that reads the
/// lock as it is and decides, so two owners never both hold a key. A key's row outlives its
/// release, keeping its last fencing token: the next acquisition gets a larger one, across
/// restarts too.
public struct LockStore: Sendable {
    public let store: SnapshotStore

    /// Acquires `key` for `owner` until `now + ttl`, with a new fencing token; an owner that
    /// holds it already keeps its token and gets the new expiry. 409 while another owner holds it.
    public func acquire(workspaceID: String, key: String, owner: String, ttl: Duration, at now: Timestamp, origin: ChangeOrigin) async throws -> LockRecord {
        try await store.journal.commit(origin) { db in
            let current = try Self.row(db, workspaceID: workspaceID, key: key)
            let expiresAt = now + ttl
            if let current, let holder = current.owner, now < current.expiresAt {
                guard holder == owner else {
                    throw AccountRefusal(.conflict, "Lock \(key) is held by another owner until \(current.expiresAt.rfc3339).")
                }
                try Self.extend(db, workspaceID: workspaceID, key: key, to: expiresAt)
                return LockRecord(key: key, owner: owner, fencingToken: current.token, acquiredAt: current.acquiredAt, expiresAt: expiresAt)
            }
            let token = (current?.token ?? 0) + 1
            try db.execute("""
                INSERT INTO locks (workspace_id, key, owner, fencing_token, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (workspace_id, key) DO UPDATE SET owner = excluded.owner, fencing_token = excluded.fencing_token,
                    acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                """, [.text(workspaceID), .text(key), .text(owner), .integer(token), .integer(now.microsecondsSinceEpoch),
                      .integer(expiresAt.microsecondsSinceEpoch)])
            return LockRecord(key: key, owner: owner, fencingToken: token, acquiredAt: now, expiresAt: expiresAt)
        }
    }

    /// Extends a lock `owner` holds; 409 otherwise (another owner, released, or expired).
    public func renew(workspaceID: String, key: String, owner: String, ttl: Duration, at now: Timestamp, origin: ChangeOrigin) async throws -> LockRecord {
        try await store.journal.commit(origin) { db in
            let current = try Self.held(db, workspaceID: workspaceID, key: key, by: owner, at: now)
            let expiresAt = now + ttl
            try Self.extend(db, workspaceID: workspaceID, key: key, to: expiresAt)
            return LockRecord(key: key, owner: owner, fencingToken: current.token, acquiredAt: current.acquiredAt, expiresAt: expiresAt)
        }
    }

    /// Releases a lock `owner` holds; 409 otherwise.
    public func release(workspaceID: String, key: String, owner: String, at now: Timestamp, origin: ChangeOrigin) async throws {
        try await store.journal.commit(origin) { db in
            _ = try Self.held(db, workspaceID: workspaceID, key: key, by: owner, at: now)
            try db.execute("UPDATE locks SET owner = NULL WHERE workspace_id = ? AND key = ?", [.text(workspaceID), .text(key)])
        }
    }

    /// The locks held at `now`, newest first.
    public func held(workspaceID: String, at now: Timestamp, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [LockRecord] {
        try await store.reader.read { db in
            var sql = """
                SELECT key, owner, fencing_token, acquired_at, expires_at FROM locks
                WHERE workspace_id = ? AND owner IS NOT NULL AND expires_at > ?
                """
            var arguments: [SQLValue] = [.text(workspaceID), .integer(now.microsecondsSinceEpoch)]
            if let cursor {
                sql += " AND (acquired_at, key) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            return try db.query(sql + " ORDER BY acquired_at DESC, key DESC LIMIT ?", arguments + [.integer(Int64(limit))]) { row in
                LockRecord(key: row.string(at: 0) ?? "", owner: row.string(at: 1) ?? "", fencingToken: row.int64(at: 2),
                           acquiredAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 3)),
                           expiresAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 4)))
            }
        }
    }

    private struct Row {
        let owner: String?
        let token: Int64
        let acquiredAt: Timestamp
        let expiresAt: Timestamp
    }

    private static func row(_ db: Database, workspaceID: String, key: String) throws -> Row? {
        try db.query("SELECT owner, fencing_token, acquired_at, expires_at FROM locks WHERE workspace_id = ? AND key = ?",
                     [.text(workspaceID), .text(key)]) { row in
            Row(owner: row.string(at: 0), token: row.int64(at: 1), acquiredAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 2)),
                expiresAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 3)))
        }.first
    }

    private static func held(_ db: Database, workspaceID: String, key: String, by owner: String, at now: Timestamp) throws -> Row {
        guard let current = try row(db, workspaceID: workspaceID, key: key), current.owner == owner, now < current.expiresAt else {
            throw AccountRefusal(.conflict, "Lock \(key) is not held by \(owner) (released, expired, or held by another owner).")
        }
        return current
    }

    private static func extend(_ db: Database, workspaceID: String, key: String, to expiresAt: Timestamp) throws {
        try db.execute("UPDATE locks SET expires_at = ? WHERE workspace_id = ? AND key = ?",
                       [.integer(expiresAt.microsecondsSinceEpoch), .text(workspaceID), .text(key)])
    }

    public init(store: SnapshotStore) {
        self.store = store
    }
}
