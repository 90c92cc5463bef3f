import TroupeCore
import TroupePersistence

/// Each workspace's append-only audit chain: written by the ``Journal`` in the transaction of
/// the change it records (chain order is commit order, on the writer's thread), listed newest
/// first, and verified by streaming it in seq order — online here, offline by
/// `troupe verify-audit` on the file, with the same code.
///
/// The entry's fields are columns, and its hash is checked against them: editing any field,
/// deleting an entry (a seq gap) or moving one breaks the chain at that seq. The server never
/// repairs a broken chain: it appends after the last entry, and verify keeps reporting the break.
public struct AuditLog: Sendable {
    public static let migrations = [
        Migration("audit-1", sql: """
            CREATE TABLE audit_entries (
                workspace_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                actor_type TEXT NOT NULL,
                actor_id TEXT NOT NULL,
                actor_email TEXT,
                event TEXT NOT NULL,
                target_type TEXT NOT NULL,
                target_id TEXT,
                note TEXT,
                request_id TEXT,
                ip TEXT,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (workspace_id, seq)
            ) WITHOUT ROWID;
            """),
    ]

    /// What verifying a chain found.
    public struct Verification: Sendable, Equatable {
        public var valid: Bool { firstInvalidSeq == nil }
        /// Entries read, up to and with the first invalid one.
        public var checkedCount: Int64 = 0
        /// The smallest seq at which the chain breaks (an edited entry, or the one after a
        /// deleted or moved one).
        public var firstInvalidSeq: Int64?

        public var json: JSON {
            ["valid": .bool(valid), "checked_count": .int(checkedCount), "first_invalid_seq": firstInvalidSeq.map(JSON.int) ?? .null]
        }
    }

    /// Which entries a list shows, newest first.
    public struct Filter: Sendable {
        public var since: Timestamp?
        public var until: Timestamp?
        public var actorID: String?
        public var event: String?
        /// Entries before this seq only (the cursor).
        public var beforeSeq: Int64?

        public init() {}
    }

    private let reader: ReadPool

    public init(reader: ReadPool) {
        self.reader = reader
    }

    private static let columns = """
        SELECT seq, id, created_at, actor_type, actor_id, actor_email, event, target_type, target_id, note, request_id, ip, prev_hash, hash
        FROM audit_entries
        """

    /// Up to `limit` entries matching `filter`, newest first.
    public func entries(workspaceID: String, filter: Filter, limit: Int) async throws -> [AuditEntry] {
        var sql = Self.columns + " WHERE workspace_id = ?"
        var values: [SQLValue] = [.text(workspaceID)]
        if let before = filter.beforeSeq { sql += " AND seq < ?"; values.append(.integer(before)) }
        if let since = filter.since { sql += " AND created_at >= ?"; values.append(.integer(since.microsecondsSinceEpoch)) }
        if let until = filter.until { sql += " AND created_at < ?"; values.append(.integer(until.microsecondsSinceEpoch)) }
        if let actor = filter.actorID { sql += " AND actor_id = ?"; values.append(.text(actor)) }
        if let event = filter.event { sql += " AND event = ?"; values.append(.text(event)) }
        sql += " ORDER BY seq DESC LIMIT ?"
        values.append(.integer(Int64(max(0, limit))))
        let query = sql
        let bound = values
        return try await reader.readStatement { db in try db.query(query, bound, row: Self.entry) }
    }

    /// Verifies the workspace's whole chain, reading it in pages.
    public func verify(workspaceID: String) async throws -> Verification {
        try await reader.read { db in try Self.verify(db, workspaceID: workspaceID) }
    }

    /// Verifies one workspace's chain on `db`, `pageSize` entries in memory at a time.
    public static func verify(_ db: Database, workspaceID: String, pageSize: Int = 1_000) throws -> Verification {
        var result = Verification()
        var expectedSeq: Int64 = 1
        var prevHash = AuditEntry.genesisHash
        // Pages are read from the next expected seq on; an entry moved below 1 is out of place.
        if let below = try db.scalar("SELECT min(seq) FROM audit_entries WHERE workspace_id = ? AND seq < 1", [.text(workspaceID)])?.integerValue {
            result.checkedCount = 1
            result.firstInvalidSeq = below
            return result
        }
        while true {
            let page = try db.query(columns + " WHERE workspace_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                                    [.text(workspaceID), .integer(expectedSeq), .integer(Int64(pageSize))], row: entry)
            for entry in page {
                result.checkedCount += 1
                guard entry.seq == expectedSeq, entry.prevHash == prevHash, try entry.expectedHash() == entry.hash else {
                    result.firstInvalidSeq = entry.seq
                    return result
                }
                prevHash = entry.hash
                expectedSeq += 1
            }
            if page.count < pageSize { return result }
        }
    }

    /// Every workspace stored, and any other that has entries, in id order.
    public static func workspaces(_ db: Database) throws -> [String] {
        try db.query("SELECT id FROM snapshots WHERE kind = 'tenant' UNION SELECT workspace_id FROM audit_entries ORDER BY 1") {
            $0.string(at: 0) ?? ""
        }
    }

    /// Chains `records` after each workspace's last entry and inserts them; on the writer's thread.
    static func append(_ records: [PreparedAudit], on db: Database, at now: Timestamp) throws {
        var heads: [String: (seq: Int64, hash: String)] = [:]
        for record in records {
            let workspaceID = record.draft.workspaceID
            let head = try heads[workspaceID] ?? head(db, workspaceID: workspaceID)
            let entry = record.entry(seq: head.seq + 1, prevHash: head.hash, at: now)
            heads[workspaceID] = (entry.seq, entry.hash)
            try db.execute("""
                INSERT INTO audit_entries (workspace_id, seq, id, created_at, actor_type, actor_id, actor_email, event, target_type, target_id,
                                           note, request_id, ip, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(workspaceID), .integer(entry.seq), .text(entry.id), .integer(now.microsecondsSinceEpoch),
                      .text(entry.actor.type), .text(entry.actor.id), optional(entry.actor.email), .text(entry.event),
                      .text(entry.targetType), optional(entry.targetID), optional(entry.note), optional(entry.requestID), optional(entry.ip),
                      .text(entry.prevHash), .text(entry.hash)])
        }
    }

    /// The workspace's last entry's seq and hash (0 and the genesis hash before its first):
    /// appending continues there, whatever an edit did to the entries before.
    private static func head(_ db: Database, workspaceID: String) throws -> (seq: Int64, hash: String) {
        try db.query("SELECT seq, hash FROM audit_entries WHERE workspace_id = ? ORDER BY seq DESC LIMIT 1", [.text(workspaceID)]) { row in
            (row.int64(at: 0), row.string(at: 1) ?? "")
        }.first ?? (0, AuditEntry.genesisHash)
    }

    private static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }

    /// A row as stored, whatever it holds: a field edited to anything fails its hash.
    private static func entry(_ row: Statement) -> AuditEntry {
        AuditEntry(id: row.string(at: 1) ?? "", seq: row.int64(at: 0), timestamp: Timestamp(microsecondsSinceEpoch: row.int64(at: 2)),
                   actor: AuditActor(type: row.string(at: 3) ?? "", id: row.string(at: 4) ?? "", email: row.string(at: 5)),
                   event: row.string(at: 6) ?? "", targetType: row.string(at: 7) ?? "", targetID: row.string(at: 8), note: row.string(at: 9),
                   requestID: row.string(at: 10), ip: row.string(at: 11), prevHash: row.string(at: 12) ?? "", hash: row.string(at: 13) ?? "")
    }
}
