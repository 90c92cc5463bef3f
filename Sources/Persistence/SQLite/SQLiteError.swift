import CSQLite

/// An error reported by SQLite: its result codes, its message, and the SQL that failed.
///
/// It never carries bound values, so it is safe to log. Match on ``kind`` rather than on raw
/// codes: `catch let error as SQLiteError where error.kind == .constraint`.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The families of failure callers handle differently.
    public enum Kind: Sendable, Equatable {
        /// A UNIQUE, NOT NULL, CHECK, FOREIGN KEY or PRIMARY KEY constraint failed.
        case constraint
        /// Another connection holds a lock past the busy timeout.
        case busy
        /// A lock conflict inside this process's own connections.
        case locked
        /// The disk or the database's page limit is full.
        case full
        /// The file is damaged.
        case corrupt
        /// The file is not a SQLite database (or is encrypted).
        case notADatabase
        /// The file or its folder could not be opened.
        case cantOpen
        /// The database, file or connection is read-only.
        case readOnly
        /// An operating-system I/O error.
        case ioError
        /// The connection was used after it was closed, or the API was misused.
        case misuse
        /// The schema written to the file is newer than this program knows.
        case schemaTooNew
        /// The writer's queue is full: the change was refused at once, not queued.
        case overloaded
        /// Anything else; see ``code``.
        case other
    }

    /// The primary result code (`SQLITE_CONSTRAINT`, …).
    public let code: Int32
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, …).
    public let extendedCode: Int32
    public let message: String
    /// The statement that failed, if any; never its bound values.
    public let sql: String?
    /// Set for errors this layer raises itself, which have no SQLite code of their own.
    private let explicitKind: Kind?

    public init(code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code & 0xFF
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.sql = sql
        explicitKind = nil
    }

    init(kind: Kind, code: Int32, message: String, sql: String? = nil) {
        self.code = code
        extendedCode = code
        self.message = message
        self.sql = sql
        explicitKind = kind
    }

    /// The error the connection `handle` reports now.
    init(connection handle: OpaquePointer?, sql: String?) {
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? SQLITE_NOMEM
        let text = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "out of memory"
        self.init(code: extended, extendedCode: extended, message: text, sql: sql)
    }

    /// The error for using a connection after ``Database/close()``.
    static func closed(sql: String? = nil) -> SQLiteError {
        SQLiteError(kind: .misuse, code: SQLITE_MISUSE, message: "the database connection is closed", sql: sql)
    }

    public var kind: Kind {
        if let explicitKind { return explicitKind }
        switch code {
        case SQLITE_CONSTRAINT: return .constraint
        case SQLITE_BUSY: return .busy
        case SQLITE_LOCKED: return .locked
        case SQLITE_FULL: return .full
        case SQLITE_CORRUPT: return .corrupt
        case SQLITE_NOTADB: return .notADatabase
        case SQLITE_CANTOPEN: return .cantOpen
        case SQLITE_READONLY: return .readOnly
        case SQLITE_IOERR: return .ioError
        case SQLITE_MISUSE: return .misuse
        default: return .other
        }
    }

    public var description: String {
        var text = "SQLite error \(extendedCode) (\(kind)): \(message)"
        if let sql { text += " — in: \(sql)" }
        return text
    }
}
