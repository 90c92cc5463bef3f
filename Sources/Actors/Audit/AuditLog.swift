import TroupeCore
import TroupePersistence

/// Each workspace's append-only audit chain: written by the ``Journal`` in the transaction of
/// the change it records (chain order is commit order, on the writer's thread), listed newest
/// first, and verified by streaming it in seq order — online here, offline by
/// `troupe verify-audit` on the file, with the same code.
///
/// The entry's fields are columns, and its hash is checked against them: editing any field,
/// deleting an entry (a seq gap) or moving one breaks the chain at that seq. An entry's
/// `prev_hash` is not stored: it is the hash of the entry before it, read from that row, so a
/// row costs 32 bytes of hash, not 128 of hex. The server never
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
                hash BLOB NOT NULL,
                PRIMARY KEY (workspace_id, seq)
            ) WITHOUT ROWID;
            """),
    ]

    /// What verifying a chain found.
    public struct Verification: Sendable {
        public var valid: Bool { firstInvalidSeq == nil }
        /// Entries read, up to and with the first invalid one.
        public var checkedCount: Int64 = 0
        /// The smallest seq at which the chain breaks: an edited entry's, a deleted one's own
        /// (the first seq missing), or a moved one's.
        public var firstInvalidSeq: Int64?
        /// The last entry found valid, `(seq, hash)`: kept by a client, it pins the chain up to
        /// there (a later verify that no longer reaches it shows entries were cut).
        public var anchor: (seq: Int64, hash: String)?
        /// Where the next piece starts: the seq expected next and the hash it must chain to.
        var next: (seq: Int64, prevHash: String) = (1, AuditEntry.genesisHash)
        /// Whether every entry has been read (or the chain broke).
        public var finished = false

        public init() {}

        public var json: JSON {
            ["valid": .bool(valid), "checked_count": .int(checkedCount), "first_invalid_seq": firstInvalidSeq.map(JSON.int) ?? .null,
             "anchor": anchor.map { ["seq": .int($0.seq), "hash": .string($0.hash)] } ?? .null]
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
    /// The workspaces whose chain is being verified now: one verification each at a time.
    private let verifying = LockedBox(Set<String>())

    /// A verification asked for while the workspace's previous one runs (429).
    public struct VerificationRunning: Error, Sendable, Equatable {
        public let workspaceID: String
    }

    public init(reader: ReadPool) {
        self.reader = reader
    }

    /// Whether the workspace's chain is being verified now.
    public func isVerifying(_ workspaceID: String) -> Bool { verifying.withLock { $0.contains(workspaceID) } }

    private static let columns = """
        SELECT seq, id, created_at, actor_type, actor_id, actor_email, event, target_type, target_id, note, request_id, ip, hash
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
        return try await reader.read { db in
            try Self.withPrevHashes(db, workspaceID: workspaceID, try db.query(query, bound) { Self.row($0, of: workspaceID) })
        }
    }

    /// Entries of `rows` (newest first), each given the hash of the entry before it: the next
    /// row when that is it, else read.
    private static func withPrevHashes(_ db: Database, workspaceID: String, _ rows: [StoredRow]) throws -> [AuditEntry] {
        var entries: [AuditEntry] = []
        entries.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            let prevHash: String
            if index + 1 < rows.count, rows[index + 1].seq == row.seq - 1 {
                prevHash = rows[index + 1].hash
            } else if row.seq <= 1 {
                prevHash = AuditEntry.genesisHash
            } else {
                prevHash = try db.query("SELECT hash FROM audit_entries WHERE workspace_id = ? AND seq = ?",
                                        [.text(workspaceID), .integer(row.seq - 1)]) { Hex.encode($0.blob(at: 0) ?? []) }.first ?? ""
            }
            entries.append(row.entry(prevHash: prevHash))
        }
        return entries
    }

    /// Entries one piece of a verification reads: a reader is held for about this many at a
    /// time, then let go for whatever else waits.
    public static let pieceSize = 1_000

    /// Verifies the workspace's whole chain in pieces of ``pieceSize`` entries, each a long read
    /// of its own (the read pool's connection for them, at the lowest CPU priority, in turn with
    /// other workspaces' pieces): a long chain's verification never stalls another workspace's
    /// requests, nor another's verification.
    /// One at a time per workspace: another asked meanwhile throws ``VerificationRunning``.
    public func verify(workspaceID: String) async throws -> Verification {
        guard verifying.withLock({ $0.insert(workspaceID).inserted }) else { throw VerificationRunning(workspaceID: workspaceID) }
        defer { verifying.withLock { _ = $0.remove(workspaceID) } }
        var result = Verification()
        while !result.finished {
            let current = result
            result = try await reader.read(long: true) { db in try Self.verifyPiece(db, workspaceID: workspaceID, from: current) }
            await Task.yield()
        }
        return result
    }

    /// Verifies one workspace's chain on `db` (the command line's check, with no server), a
    /// piece at a time.
    public static func verify(_ db: Database, workspaceID: String, pageSize: Int = pieceSize) throws -> Verification {
        var result = Verification()
        while !result.finished { result = try verifyPiece(db, workspaceID: workspaceID, from: result, pageSize: pageSize) }
        return result
    }

    /// Goes on from `result` for at most `pageSize` entries.
    static func verifyPiece(_ db: Database, workspaceID: String, from result: Verification, pageSize: Int = pieceSize) throws -> Verification {
        var result = result
        // An entry moved below 1 is out of place before anything else.
        if result.next.seq == 1,
           let below = try db.scalar("SELECT min(seq) FROM audit_entries WHERE workspace_id = ? AND seq < 1", [.text(workspaceID)])?.integerValue {
            result.checkedCount = 1
            result.firstInvalidSeq = below
            result.finished = true
            return result
        }
        let page = try db.query(columns + " WHERE workspace_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                                [.text(workspaceID), .integer(result.next.seq), .integer(Int64(pageSize))]) { row($0, of: workspaceID) }
        for row in page {
            result.checkedCount += 1
            let entry = row.entry(prevHash: result.next.prevHash)
            guard entry.seq == result.next.seq else {
                // A gap: the entry expected here was deleted, and its own seq is where it breaks.
                result.firstInvalidSeq = result.next.seq
                result.finished = true
                return result
            }
            guard try entry.expectedHash() == entry.hash else {
                result.firstInvalidSeq = entry.seq
                result.finished = true
                return result
            }
            result.anchor = (entry.seq, entry.hash)
            result.next = (entry.seq + 1, entry.hash)
        }
        result.finished = page.count < pageSize
        return result
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
            let (entry, digest) = record.entry(seq: head.seq + 1, prevHash: head.hash, at: now)
            heads[workspaceID] = (entry.seq, entry.hash)
            try db.execute("""
                INSERT INTO audit_entries (workspace_id, seq, id, created_at, actor_type, actor_id, actor_email, event, target_type, target_id,
                                           note, request_id, ip, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(workspaceID), .integer(entry.seq), .text(entry.id), .integer(now.microsecondsSinceEpoch),
                      .text(entry.actor.type), .text(entry.actor.id), optional(entry.actor.email), .text(entry.event),
                      .text(entry.targetType), optional(entry.targetID), optional(entry.note), optional(entry.requestID), optional(entry.ip),
                      .blob(digest)])
        }
    }

    /// The workspace's last entry's seq and hash (0 and the genesis hash before its first):
    /// appending continues there, whatever an edit did to the entries before.
    private static func head(_ db: Database, workspaceID: String) throws -> (seq: Int64, hash: String) {
        try db.query("SELECT seq, hash FROM audit_entries WHERE workspace_id = ? ORDER BY seq DESC LIMIT 1", [.text(workspaceID)]) { row in
            (row.int64(at: 0), Hex.encode(row.blob(at: 1) ?? []))
        }.first ?? (0, AuditEntry.genesisHash)
    }

    private static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }

    /// A row as stored, whatever it holds: a field edited to anything fails its hash.
    private struct StoredRow {
        let seq: Int64
        let id: String
        let createdAt: Int64
        let record: AuditDraft
        let hash: String

        func entry(prevHash: String) -> AuditEntry {
            AuditEntry(id: id, seq: seq, timestamp: Timestamp(microsecondsSinceEpoch: createdAt), record: record, prevHash: prevHash, hash: hash)
        }
    }

    private static func row(_ row: Statement, of workspaceID: String) -> StoredRow {
        StoredRow(seq: row.int64(at: 0), id: row.string(at: 1) ?? "", createdAt: row.int64(at: 2),
                  record: AuditDraft(workspaceID: workspaceID, actor: AuditActor(type: row.string(at: 3) ?? "", id: row.string(at: 4) ?? "", email: row.string(at: 5)),
                                     event: row.string(at: 6) ?? "", targetType: row.string(at: 7) ?? "", targetID: row.string(at: 8),
                                     note: row.string(at: 9), requestID: row.string(at: 10), ip: row.string(at: 11)),
                  hash: Hex.encode(row.blob(at: 12) ?? []))
    }
}
