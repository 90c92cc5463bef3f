import TroupeCore
import TroupePersistence

/// An API key's stored metadata; the raw key itself is never stored, only its SHA-256.
public struct APIKeyRecord: Sendable, Equatable {
    public let id: String
    public let workspaceID: String
    public var name: String
    public let prefix: String
    public let hash: [UInt8]
    public let scopes: [Scope]
    public let expiresAt: Timestamp?
    public var disabled: Bool
    public var revokedAt: Timestamp?
    public let createdAt: Timestamp
    public var lastUsedAt: Timestamp?

    /// The API's `api_key` object (never the key or its hash).
    public var json: JSON {
        [
            "id": .string(id), "name": .string(name), "prefix": .string(prefix),
            "scopes": .array(scopes.map { .string($0.rawValue) }),
            "expires_at": expiresAt.map { .string($0.rfc3339) } ?? .null, "disabled": .bool(disabled),
            "created_at": .string(createdAt.rfc3339), "last_used_at": lastUsedAt.map { .string($0.rfc3339) } ?? .null,
        ]
    }

    public init(id: String, workspaceID: String, name: String, prefix: String, hash: [UInt8], scopes: [Scope], expiresAt: Timestamp?, disabled: Bool, revokedAt: Timestamp?, createdAt: Timestamp, lastUsedAt: Timestamp?) {
        self.id = id
        self.workspaceID = workspaceID
        self.name = name
        self.prefix = prefix
        self.hash = hash
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.disabled = disabled
        self.revokedAt = revokedAt
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}

/// API keys by workspace, and by hash for authentication.
public struct APIKeyStore: Sendable {
    public let store: SnapshotStore

    public func insert(_ key: APIKeyRecord, origin: ChangeOrigin) async throws {
        try await store.journal.commit(origin) { db in
            try db.execute("""
                INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, scopes, expires_at, disabled, revoked_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, ?)
                """, [.text(key.id), .text(key.workspaceID), .text(key.name), .text(key.prefix), .blob(key.hash),
                      .text(key.scopes.map(\.rawValue).joined(separator: " ")),
                      key.expiresAt.map { .integer($0.microsecondsSinceEpoch) } ?? .null,
                      .integer(key.createdAt.microsecondsSinceEpoch)])
        }
    }

    public func key(hash: [UInt8]) async throws -> APIKeyRecord? {
        try await store.reader.readStatement { db in try Self.keys(db, where: "key_hash = ?", [.blob(hash)]).first }
    }

    /// One key of `workspaceID`, deleted ones excluded.
    public func key(id: String, workspaceID: String) async throws -> APIKeyRecord? {
        try await store.reader.read { db in
            try Self.keys(db, where: "id = ? AND workspace_id = ? AND revoked_at IS NULL", [.text(id), .text(workspaceID)]).first
        }
    }

    /// A page of `workspaceID`'s keys, newest first, after `cursor` (created_at, id).
    public func keys(workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [APIKeyRecord] {
        try await store.reader.read { db in
            if let cursor {
                return try Self.keys(
                    db, where: "workspace_id = ? AND revoked_at IS NULL AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
                    [.text(workspaceID), .integer(cursor.createdAt), .text(cursor.id), .integer(Int64(limit))])
            }
            return try Self.keys(db, where: "workspace_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?",
                                 [.text(workspaceID), .integer(Int64(limit))])
        }
    }

    /// Sets `disabled` on a live key; returns the key as it is now, or nil when there is none.
    public func setDisabled(_ disabled: Bool, id: String, workspaceID: String, origin: ChangeOrigin) async throws -> APIKeyRecord? {
        try await store.journal.commit(origin) { db in
            try db.execute("UPDATE api_keys SET disabled = ? WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL",
                           [.integer(disabled ? 1 : 0), .text(id), .text(workspaceID)])
            return try Self.keys(db, where: "id = ? AND workspace_id = ? AND revoked_at IS NULL", [.text(id), .text(workspaceID)]).first
        }
    }

    /// Revokes a live key (kept, so that using it says `key_revoked`); false when there is none.
    public func revoke(id: String, workspaceID: String, at now: Timestamp, origin: ChangeOrigin) async throws -> Bool {
        try await store.journal.commit(origin) { db in
            try db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL",
                           [.integer(now.microsecondsSinceEpoch), .text(id), .text(workspaceID)])
            return db.changes == 1
        }
    }

    /// Records when keys were last used, many at once.
    public func recordUse(_ uses: [String: Timestamp]) async throws {
        try await store.journal.commit(.system) { db in
            for (id, at) in uses {
                try db.execute("UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?",
                               [.integer(at.microsecondsSinceEpoch), .text(id)])
            }
        }
    }

    private static func keys(_ db: Database, where condition: String, _ values: [SQLValue]) throws -> [APIKeyRecord] {
        try db.query("""
            SELECT id, workspace_id, name, prefix, key_hash, scopes, expires_at, disabled, revoked_at, created_at, last_used_at
            FROM api_keys WHERE \(condition)
            """, values) { row in
            APIKeyRecord(
                id: row.string(at: 0) ?? "", workspaceID: row.string(at: 1) ?? "", name: row.string(at: 2) ?? "",
                prefix: row.string(at: 3) ?? "", hash: row.blob(at: 4) ?? [],
                scopes: (row.string(at: 5) ?? "").split(separator: " ").compactMap { Scope(rawValue: String($0)) },
                expiresAt: row.isNull(at: 6) ? nil : Timestamp(microsecondsSinceEpoch: row.int64(at: 6)),
                disabled: row.int64(at: 7) != 0,
                revokedAt: row.isNull(at: 8) ? nil : Timestamp(microsecondsSinceEpoch: row.int64(at: 8)),
                createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 9)),
                lastUsedAt: row.isNull(at: 10) ? nil : Timestamp(microsecondsSinceEpoch: row.int64(at: 10)))
        }
    }

    public init(store: SnapshotStore) {
        self.store = store
    }
}
