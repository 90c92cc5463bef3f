import TroupeCore
import TroupePersistence

/// A stored workflow at its current version.
public struct WorkflowRecord: Sendable {
    public let id: String
    public let workspaceID: String
    public let slug: String
    public let name: String
    public let version: Int
    public let steps: [WorkflowStep]
    public let costCapUSD: Double?
    /// The deadline of each run from its creation (API.md: `run_timeout`), nil for none.
    public let timeoutMilliseconds: Int64?
    public let createdAt: Timestamp
    public let updatedAt: Timestamp

    public init(id: String, workspaceID: String, slug: String, name: String, version: Int, steps: [WorkflowStep], costCapUSD: Double?,
                timeoutMilliseconds: Int64? = nil, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.workspaceID = workspaceID
        self.slug = slug
        self.name = name
        self.version = version
        self.steps = steps
        self.costCapUSD = costCapUSD
        self.timeoutMilliseconds = timeoutMilliseconds
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var json: JSON {
        .object(JSONObject([
            ("id", .string(id)), ("slug", .string(slug)), ("name", .string(name)), ("version", .int(Int64(version))),
            ("steps", .array(steps.map(\.json))), ("cost_cap_usd", costCapUSD.map(JSON.double) ?? .null),
            ("timeout_ms", timeoutMilliseconds.map(JSON.int) ?? .null),
            ("created_at", .string(createdAt.rfc3339)), ("updated_at", .string(updatedAt.rfc3339)),
        ]))
    }
}

/// Why a workflow change was refused.
public struct WorkflowStoreError: Error, Sendable, Equatable {
    public enum Code: Sendable { case notFound, slugTaken }
    public let code: Code
    public let message: String
}

/// Workflows of every workspace: one row per workflow and one per version, so that a run keeps
/// the version it started with while the workflow is replaced (version + 1) or deleted (kept,
/// marked deleted; its slug is free again). Every query is keyed by workspace.
public struct WorkflowStore: Sendable {
    public static let migrations = [
        Migration("workflows-1", sql: """
            CREATE TABLE workflows (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                slug TEXT NOT NULL,
                version INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                deleted_at INTEGER
            ) WITHOUT ROWID;
            CREATE UNIQUE INDEX workflows_live_slug ON workflows (workspace_id, slug) WHERE deleted_at IS NULL;
            CREATE INDEX workflows_by_workspace ON workflows (workspace_id, created_at, id);
            CREATE TABLE workflow_versions (
                workflow_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                steps BLOB NOT NULL,
                cost_cap_usd REAL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (workflow_id, version)
            ) WITHOUT ROWID;
            """),
    ]

    let store: SnapshotStore
    /// Lookups served from memory. Replace and delete drop what they change from this store's
    /// cache only, so one process keeps one `WorkflowStore` per database for them.
    private let cache = LiveWorkflowCache()

    public init(store: SnapshotStore) {
        self.store = store
    }

    private static let select = """
        SELECT w.id, w.workspace_id, w.slug, v.name, w.version, v.steps, v.cost_cap_usd, w.created_at, w.updated_at, v.timeout_ms
        FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
        """

    /// Stores a new workflow at version 1; `slugTaken` when a live workflow of the workspace has it.
    public func create(
        id: String, workspaceID: String, slug: String, name: String, steps: [WorkflowStep], costCapUSD: Double?,
        timeoutMilliseconds: Int64? = nil, at now: Timestamp, origin: ChangeOrigin = .system
    ) async throws -> WorkflowRecord {
        let record = WorkflowRecord(id: id, workspaceID: workspaceID, slug: slug, name: name, version: 1, steps: steps,
                                    costCapUSD: costCapUSD, timeoutMilliseconds: timeoutMilliseconds, createdAt: now, updatedAt: now)
        let stepsBlob = JSON.array(steps.map(\.json)).bytes
        return try await store.journal.commit(origin) { db in
            if try Self.live(db, workspaceID: workspaceID, idOrSlug: slug) != nil { throw Self.slugTaken(slug) }
            try db.execute("INSERT INTO workflows (id, workspace_id, slug, version, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)",
                           [.text(id), .text(workspaceID), .text(slug), .integer(now.microsecondsSinceEpoch), .integer(now.microsecondsSinceEpoch)])
            try Self.insertVersion(db, id: id, version: 1, name: name, steps: stepsBlob, costCapUSD: costCapUSD,
                                   timeoutMilliseconds: timeoutMilliseconds, at: now)
            return record
        }
    }

    /// The live workflow `idOrSlug` (a `wf_` id or a slug) of the workspace, from the cache when
    /// it was looked up before.
    public func workflow(workspaceID: String, idOrSlug: String) async throws -> WorkflowRecord? {
        let (cached, generation) = cache.lookup(workspaceID: workspaceID, idOrSlug: idOrSlug)
        if let cached { return cached }
        let record = try await store.reader.readStatement { db in try Self.live(db, workspaceID: workspaceID, idOrSlug: idOrSlug) }
        if let record { cache.fill(record, ifUnchangedSince: generation) }
        return record
    }

    /// A page of the workspace's live workflows, newest first, after `(createdAt, id)`.
    public func workflows(workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [WorkflowRecord] {
        try await store.reader.read { db in
            var sql = Self.select + " WHERE w.workspace_id = ? AND w.deleted_at IS NULL"
            var arguments: [SQLValue] = [.text(workspaceID)]
            if let cursor {
                sql += " AND (w.created_at, w.id) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            return try db.query(sql + " ORDER BY w.created_at DESC, w.id DESC LIMIT ?", arguments + [.integer(Int64(limit))], row: Self.record)
        }
    }

    /// Replaces the steps (and the name, cost cap and run deadline, when given) as version + 1.
    public func replace(
        workspaceID: String, idOrSlug: String, name: String?, steps: [WorkflowStep], costCapUSD: Double??,
        timeoutMilliseconds: Int64?? = .none, at now: Timestamp, origin: ChangeOrigin = .system
    ) async throws -> WorkflowRecord {
        let stepsBlob = JSON.array(steps.map(\.json)).bytes
        defer { cache.drop(workspaceID: workspaceID) }
        return try await store.journal.commit(origin) { db in
            guard let current = try Self.live(db, workspaceID: workspaceID, idOrSlug: idOrSlug) else { throw Self.notFound(idOrSlug) }
            let version = current.version + 1
            let cap = costCapUSD ?? current.costCapUSD
            let timeout = timeoutMilliseconds ?? current.timeoutMilliseconds
            try Self.insertVersion(db, id: current.id, version: version, name: name ?? current.name, steps: stepsBlob, costCapUSD: cap,
                                   timeoutMilliseconds: timeout, at: now)
            try db.execute("UPDATE workflows SET version = ?, updated_at = ? WHERE id = ?",
                           [.integer(Int64(version)), .integer(now.microsecondsSinceEpoch), .text(current.id)])
            return WorkflowRecord(id: current.id, workspaceID: workspaceID, slug: current.slug, name: name ?? current.name, version: version,
                                  steps: steps, costCapUSD: cap, timeoutMilliseconds: timeout, createdAt: current.createdAt, updatedAt: now)
        }
    }

    /// Marks the workflow deleted; its versions stay for the runs that use them.
    public func delete(workspaceID: String, idOrSlug: String, at now: Timestamp, origin: ChangeOrigin = .system) async throws {
        defer { cache.drop(workspaceID: workspaceID) }
        try await store.journal.commit(origin) { db in
            guard let current = try Self.live(db, workspaceID: workspaceID, idOrSlug: idOrSlug) else { throw Self.notFound(idOrSlug) }
            try db.execute("UPDATE workflows SET deleted_at = ? WHERE id = ?", [.integer(now.microsecondsSinceEpoch), .text(current.id)])
        }
    }

    /// The live workflow `idOrSlug` of the workspace, read on `db` (inside a change, say).
    public static func live(_ db: Database, workspaceID: String, idOrSlug: String) throws -> WorkflowRecord? {
        let column = idOrSlug.hasPrefix("wf_") ? "w.id" : "w.slug"
        return try db.query(Self.select + " WHERE w.workspace_id = ? AND \(column) = ? AND w.deleted_at IS NULL",
                            [.text(workspaceID), .text(idOrSlug)], row: record).first
    }

    private static func insertVersion(
        _ db: Database, id: String, version: Int, name: String, steps: [UInt8], costCapUSD: Double?, timeoutMilliseconds: Int64?,
        at now: Timestamp
    ) throws {
        try db.execute("""
            INSERT INTO workflow_versions (workflow_id, version, name, steps, cost_cap_usd, created_at, timeout_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(id), .integer(Int64(version)), .text(name), .blob(steps), costCapUSD.map(SQLValue.real) ?? SQLValue.null,
                  .integer(now.microsecondsSinceEpoch), timeoutMilliseconds.map(SQLValue.integer) ?? SQLValue.null])
    }

    /// A row of `select`. The steps were valid when stored; a row that no longer parses is a
    /// corrupt file, reported as such rather than shown as an empty workflow.
    private static func record(_ row: Statement) throws -> WorkflowRecord {
        let steps = try WorkflowParser.parse(steps: try JSON.parse(row.blob(at: 5) ?? []), stored: true).get()
        return WorkflowRecord(
            id: row.string(at: 0) ?? "", workspaceID: row.string(at: 1) ?? "", slug: row.string(at: 2) ?? "", name: row.string(at: 3) ?? "",
            version: Int(row.int64(at: 4)), steps: steps, costCapUSD: row.isNull(at: 6) ? nil : row.double(at: 6),
            timeoutMilliseconds: row.isNull(at: 9) ? nil : row.int64(at: 9), createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 7)), updatedAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 8)))
    }

    private static func notFound(_ idOrSlug: String) -> WorkflowStoreError {
        WorkflowStoreError(code: .notFound, message: "Workflow \(idOrSlug) was not found.")
    }

    private static func slugTaken(_ slug: String) -> WorkflowStoreError {
        WorkflowStoreError(code: .slugTaken, message: "A workflow with slug \(slug) already exists in this workspace.")
    }
}
