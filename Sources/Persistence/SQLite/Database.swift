import CSQLite

/// How far a commit goes before it is acknowledged.
public enum Durability: String, Sendable {
    /// `synchronous=FULL`: the WAL is fsynced at every commit; survives power loss.
    case full
    /// `synchronous=NORMAL`: no fsync at commit; survives a process crash, may lose the last
    /// commits on power loss.
    case normal
}

/// How a ``Database`` connection is opened.
public struct DatabaseOptions: Sendable {
    /// Open read-only (the file must exist, and be in WAL mode already for concurrent readers).
    public var readOnly: Bool
    public var durability: Durability
    /// How long to wait for another connection's lock before failing with ``SQLiteError/Kind/busy``.
    public var busyTimeout: Duration
    /// Bytes of the file a connection may map into memory (`PRAGMA mmap_size`); 0 reads with
    /// `pread` only. Mapping spares a system call and a copy per page on cold point reads, and
    /// unlike the page cache it survives other connections' commits.
    public var mmapBytes: Int
    /// With ``readOnly``: the file is known not to change while open (no other connection, no
    /// `-wal`), so SQLite takes no lock and writes no `-shm` (`immutable=1`, works on read-only
    /// media).
    public var immutable: Bool

    public init(readOnly: Bool = false, durability: Durability = .full, busyTimeout: Duration = .seconds(5),
                mmapBytes: Int = 0, immutable: Bool = false) {
        self.readOnly = readOnly
        self.immutable = immutable
        self.durability = durability
        self.busyTimeout = busyTimeout
        self.mmapBytes = mmapBytes
    }
}

/// One SQLite connection.
///
/// Not `Sendable`: a connection belongs to one serial context (the group-commit writer's thread,
/// a read-pool thread, a test) and is never used from two threads at once. It is opened in
/// multi-thread mode (`SQLITE_OPEN_NOMUTEX`) for that reason. Read-write connections use WAL,
/// the chosen `synchronous` level, `foreign_keys=ON` and a busy timeout.
public final class Database {
    /// The file path, or `:memory:`.
    public let path: String
    private var handle: OpaquePointer?
    private var statementCache: [String: Statement] = [:]
    /// The handler installed by ``onWALCommit(_:)``, kept alive as long as the connection.
    var walHook: WALHookBox?

    public init(path: String, options: DatabaseOptions = DatabaseOptions()) throws(SQLiteError) {
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        flags |= options.readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var opened: OpaquePointer?
        var name = path
        if options.readOnly && options.immutable {
            flags |= SQLITE_OPEN_URI
            name = "file:" + Self.uriPath(path) + "?immutable=1"
        }
        let rc = sqlite3_open_v2(name, &opened, flags, nil)
        guard rc == SQLITE_OK, let opened else {
            let error = SQLiteError(connection: opened, sql: nil)
            sqlite3_close_v2(opened)
            throw SQLiteError(code: error.extendedCode, message: "cannot open \(path): \(error.message)")
        }
        handle = opened
        do {
            try configure(options)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// `path` as the path of a `file:` URI: `%`, `?` and `#` percent-encoded (RFC 3986 §3.3).
    static func uriPath(_ path: String) -> String {
        var encoded = ""
        for character in path {
            switch character {
            case "%": encoded += "%25"
            case "?": encoded += "%3F"
            case "#": encoded += "%23"
            default: encoded.append(character)
            }
        }
        return encoded
    }

    private func configure(_ options: DatabaseOptions) throws(SQLiteError) {
        guard let handle else { throw .closed() }
        let milliseconds = options.busyTimeout.nanoseconds / 1_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
        // The first read of the header tells a database from any other file (SQLITE_NOTADB).
        do {
            try execute("SELECT count(*) FROM sqlite_schema")
        } catch where error.kind == .notADatabase {
            throw SQLiteError(code: error.extendedCode, message: "\(path) is not a SQLite database")
        }
        if options.mmapBytes > 0 { try execute("PRAGMA mmap_size=\(options.mmapBytes)") }
        guard !options.readOnly else { return }
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=\(options.durability == .full ? "FULL" : "NORMAL")")
        try execute("PRAGMA foreign_keys=ON")
        try execute("PRAGMA temp_store=MEMORY")
    }

    /// Closes the connection; later calls throw ``SQLiteError/Kind/misuse``. Safe to repeat.
    public func close() {
        statementCache.removeAll()
        if let handle {
            sqlite3_wal_hook(handle, nil, nil)
            sqlite3_close_v2(handle)
        }
        handle = nil
        walHook = nil
    }

    public var isClosed: Bool { handle == nil }

    func connection(for sql: String? = nil) throws(SQLiteError) -> OpaquePointer {
        guard let handle else { throw .closed(sql: sql) }
        return handle
    }

    // MARK: Statements

    /// Runs one or more statements without parameters.
    public func execute(_ sql: String) throws(SQLiteError) {
        let connection = try connection(for: sql)
        guard sqlite3_exec(connection, sql, nil, nil, nil) == SQLITE_OK else {
            throw SQLiteError(connection: connection, sql: sql)
        }
    }

    /// Runs one statement with `values` bound to its parameters, through the statement cache.
    public func execute(_ sql: String, _ values: [SQLValue]) throws(SQLiteError) {
        let statement = try cachedStatement(sql)
        try statement.bind(values)
        while try statement.step() {}
        statement.reset()
    }

    /// Statements kept at most; past it the cache starts over. SQL is meant to be fixed text with
    /// `?` parameters, so a real program uses far fewer; the bound only stops SQL built from
    /// values from growing the cache without end.
    static let statementCacheLimit = 512

    /// The prepared statement for `sql`, kept for reuse; reset and ready to bind.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try Statement(connection: try connection(for: sql), sql: sql)
        if statementCache.count >= Self.statementCacheLimit { statementCache.removeAll() }
        statementCache[sql] = statement
        return statement
    }

    /// How many statements the cache holds now.
    var cachedStatementCount: Int { statementCache.count }

    /// Runs a query and maps each row with `row`.
    public func query<Row>(
        _ sql: String, _ values: [SQLValue] = [], row: (Statement) throws -> Row
    ) throws -> [Row] {
        let statement = try cachedStatement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        var rows: [Row] = []
        while try statement.step() { rows.append(try row(statement)) }
        return rows
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> SQLValue? {
        let statement = try cachedStatement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        // Not a ternary: `SQLValue` is `ExpressibleByNilLiteral`, so `cond ? value : nil` would
        // make `.null` and a missing row would look like a row holding NULL.
        guard try statement.step() else { return nil }
        return statement.value(at: 0)
    }

    public var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    public var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    // MARK: Transactions

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`): commits when it returns, rolls
    /// back when it throws.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try transaction(begin: "BEGIN IMMEDIATE", body)
    }

    /// Runs `body` in a read transaction, so every query sees the same snapshot.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try transaction(begin: "BEGIN DEFERRED", body)
    }

    /// A rollback that fails here throws in place of the error that asked for it; the next
    /// transaction on this connection rolls back first, so it never starts inside the last.
    private func transaction<T>(begin: String, _ body: (Database) throws -> T) throws -> T {
        try rollback()
        try cachedStatement(begin).step()
        let result: T
        do {
            result = try body(self)
        } catch {
            try rollback()
            throw error
        }
        do {
            try cachedStatement("COMMIT").step()
        } catch {
            try rollback()
            throw error
        }
        return result
    }

    /// Rolls back the open transaction, if SQLite has not already done so; throws when it could
    /// not (the transaction is then still open).
    func rollback() throws(SQLiteError) {
        guard isInTransaction else { return }
        try cachedStatement("ROLLBACK").step()
        transactionIsDamaged = false
    }

    /// Set when a savepoint's writes could not be undone, neither alone nor with their whole
    /// transaction: the open transaction must never commit (``GroupCommitWriter`` rolls it back).
    private(set) var transactionIsDamaged = false

    /// Runs `body` inside `SAVEPOINT name`: released when it returns, rolled back to (and
    /// released) when it throws, leaving the enclosing transaction as it was before.
    ///
    /// Should the savepoint's undo fail, the whole transaction is rolled back instead (the
    /// caller sees that in `isInTransaction`), and if that fails too, ``transactionIsDamaged``
    /// says so: the change's writes are never left to commit with the others.
    public func withSavepoint<T>(_ name: String = "change", _ body: (Database) throws -> T) throws -> T {
        try cachedStatement("SAVEPOINT \(name)").step()
        do {
            let result = try body(self)
            try cachedStatement("RELEASE \(name)").step()
            return result
        } catch {
            // After an error that aborted the whole transaction (SQLITE_FULL, IOERR, …) there is
            // no savepoint left to roll back to; the caller sees that in `isInTransaction`.
            guard isInTransaction else { throw error }
            do {
                try cachedStatement("ROLLBACK TO \(name)").step()
                try cachedStatement("RELEASE \(name)").step()
            } catch {
                do {
                    try rollback()
                } catch {
                    transactionIsDamaged = true
                }
            }
            throw error
        }
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound file, else one line per problem.
    public func integrityCheck() throws -> [String] {
        try query("PRAGMA integrity_check") { $0.string(at: 0) ?? "" }
    }
}
