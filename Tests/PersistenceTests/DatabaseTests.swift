import Foundation
import Testing

@testable import TroupePersistence

@Suite(.timeLimit(.minutes(5)))
struct DatabaseTests {
    private func openWithTable(_ directory: borrowing TemporaryDirectory) throws -> Database {
        let db = try Database(path: directory.file())
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n)")
        return db
    }

    @Test func bindsAndReadsEveryType() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        try db.execute("INSERT INTO t (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)",
                       [.integer(.min), .real(-2.5e-300), .text("plain"), .blob([1, 2, 3]), .null])
        let rows = try db.query("SELECT i, r, s, b, n FROM t") { row in
            (row.int64(at: 0), row.double(at: 1), row.string(at: 2), row.blob(at: 3), row.isNull(at: 4))
        }
        #expect(rows.count == 1)
        #expect(rows[0].0 == .min)
        #expect(rows[0].1 == -2.5e-300)
        #expect(rows[0].2 == "plain")
        #expect(rows[0].3 == [1, 2, 3])
        #expect(rows[0].4)
        #expect(try db.scalar("SELECT i FROM t") == .integer(.min))
        let missing = try db.scalar("SELECT i FROM t WHERE id = -1")
        #expect(missing == Optional<SQLValue>.none, "no row is nil, not a row holding NULL")
        #expect(try db.scalar("SELECT n FROM t") == Optional<SQLValue>.some(.null))
    }

    @Test func textKeepsUnicodeAndNULCharacters() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        let texts = ["é中😀 ünïcödé", "nul\u{0}inside", "", "\u{10FFFF}"]
        for text in texts { try db.execute("INSERT INTO t (s) VALUES (?)", [.text(text)]) }
        let read = try db.query("SELECT s, typeof(s) FROM t ORDER BY id") { ($0.string(at: 0), $0.string(at: 1)) }
        #expect(read.map(\.0) == texts)
        #expect(read.allSatisfy { $0.1 == "text" }, "an empty string is text, not NULL")
    }

    @Test func blobsKeepEveryByteAndEmptyIsNotNull() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        let blobs: [[UInt8]] = [[0, 0, 0], Array(0...255), [], [0xFF, 0x00, 0xFE]]
        for blob in blobs { try db.execute("INSERT INTO t (b) VALUES (?)", [.blob(blob)]) }
        try db.execute("INSERT INTO t (b) VALUES (?)", [.blob(Data([9, 0, 9]))])
        let read = try db.query("SELECT b, typeof(b) FROM t ORDER BY id") { ($0.blob(at: 0), $0.data(at: 0), $0.string(at: 1)) }
        #expect(read.map(\.0) == blobs.map(Optional.some) + [[9, 0, 9]])
        #expect(read[4].1 == Data([9, 0, 9]))
        #expect(read.allSatisfy { $0.2 == "blob" })
    }

    @Test func valueReadsEachStorageClass() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        try db.execute("INSERT INTO t (i, r, s, b, n) VALUES (7, 1.5, 'x', x'00ff', NULL)")
        let values = try db.query("SELECT i, r, s, b, n FROM t") { row in (0..<row.columnCount).map { row.value(at: $0) } }
        #expect(values.first == [.integer(7), .real(1.5), .text("x"), .blob([0, 255]), .null])
    }

    @Test func constraintViolationsAreConstraintErrorsWithTheirSQL() throws {
        let directory = try TemporaryDirectory()
        let db = try Database(path: directory.file())
        try db.execute("""
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE CHECK (length(name) < 10),
                                parent_id INTEGER REFERENCES parent(id));
            """)
        try db.execute("INSERT INTO child (name) VALUES (?)", ["one"])
        let statements: [(String, [SQLValue])] = [
            ("INSERT INTO child (name) VALUES (?)", ["one"]),  // UNIQUE
            ("INSERT INTO child (name) VALUES (?)", [nil]),  // NOT NULL
            ("INSERT INTO child (name) VALUES (?)", ["far too long a name"]),  // CHECK
            ("INSERT INTO child (name, parent_id) VALUES (?, ?)", ["orphan", 42]),  // FOREIGN KEY (foreign_keys=ON)
        ]
        for (sql, values) in statements {
            let error = #expect(throws: SQLiteError.self) { try db.execute(sql, values) }
            #expect(error?.kind == .constraint)
            #expect(error?.sql == sql)
            #expect(error?.description.contains("far too long") == false, "bound values never appear in errors")
        }
        #expect(try db.scalar("SELECT count(*) FROM child") == .integer(1))
    }

    @Test func writeCommitsOnReturnAndRollsBackOnThrow() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        try db.write { db in try db.execute("INSERT INTO t (i) VALUES (1)") }
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.write { db in
                try db.execute("INSERT INTO t (i) VALUES (2)")
                throw Abort()
            }
        }
        #expect(!db.isInTransaction)
        #expect(try db.query("SELECT i FROM t") { $0.int64(at: 0) } == [1])
        let seen = try db.read { db in try db.scalar("SELECT count(*) FROM t") }
        #expect(seen == .integer(1))
    }

    @Test func savepointRollsBackOnlyItsOwnChange() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        struct Abort: Error {}
        try db.write { db in
            try db.withSavepoint { try $0.execute("INSERT INTO t (i) VALUES (1)") }
            _ = try? db.withSavepoint { db in
                try db.execute("INSERT INTO t (i) VALUES (2)")
                throw Abort()
            }
            try db.withSavepoint { try $0.execute("INSERT INTO t (i) VALUES (3)") }
        }
        #expect(try db.query("SELECT i FROM t ORDER BY i") { $0.int64(at: 0) } == [1, 3])
    }

    @Test func opensInWALWithFullSynchronousAndForeignKeys() throws {
        let directory = try TemporaryDirectory()
        let full = try Database(path: directory.file("full.db"))
        #expect(try full.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try full.scalar("PRAGMA synchronous") == .integer(2))
        #expect(try full.scalar("PRAGMA foreign_keys") == .integer(1))
        let normal = try Database(path: directory.file("normal.db"), options: .init(durability: .normal))
        #expect(try normal.scalar("PRAGMA synchronous") == .integer(1))
    }

    @Test func usingAClosedDatabaseIsAMisuseError() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        db.close()
        db.close()
        #expect(db.isClosed)
        let error = #expect(throws: SQLiteError.self) { try db.execute("SELECT 1") }
        #expect(error?.kind == .misuse)
        #expect(error?.message == "the database connection is closed")
    }

    @Test func aFileThatIsNotSQLiteIsRefusedAtOpen() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notes.db")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SQLiteError.self) { try Database(path: path) }
        #expect(error?.kind == .notADatabase)
        #expect(error?.message == "\(path) is not a SQLite database")
    }

    @Test func aMissingFolderCannotBeOpened() throws {
        let error = #expect(throws: SQLiteError.self) { try Database(path: "/nonexistent-folder/x/troupe.db") }
        #expect(error?.kind == .cantOpen)
        #expect(error?.message.contains("/nonexistent-folder/x/troupe.db") == true)
    }

    @Test func aCorruptFileReportsCorruption() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file()
        do {
            let db = try Database(path: path)
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
            try db.write { db in
                for _ in 0..<200 { try db.execute("INSERT INTO t (body) VALUES (?)", [.blob(Array(repeating: 7, count: 300))]) }
            }
            db.close()  // the last connection checkpoints the WAL into the file
        }
        // Overwrite page 2 (the table's root page) with garbage.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: 4096)
        handle.write(Data(repeating: 0xEE, count: 4096))
        try handle.close()
        let db = try Database(path: path)
        let error = #expect(throws: SQLiteError.self) { try db.query("SELECT sum(length(body)) FROM t") { $0.int64(at: 0) } }
        #expect(error?.kind == .corrupt)
        #expect((try? db.integrityCheck()) != ["ok"])
    }

    @Test func aLockHeldElsewhereIsABusyErrorAfterTheTimeout() throws {
        let directory = try TemporaryDirectory()
        let holder = try openWithTable(directory)
        let waiter = try Database(path: directory.file(), options: .init(busyTimeout: .milliseconds(50)))
        try holder.execute("BEGIN EXCLUSIVE")
        let error = #expect(throws: SQLiteError.self) {
            try waiter.write { db in try db.execute("INSERT INTO t (i) VALUES (1)") }
        }
        #expect(error?.kind == .busy)
        try holder.execute("COMMIT")
        try waiter.write { db in try db.execute("INSERT INTO t (i) VALUES (1)") }
    }

    @Test func theStatementCacheStaysBoundedWhenSQLVaries() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        for value in 0..<(Database.statementCacheLimit * 2 + 7) {
            #expect(try db.scalar("SELECT \(value)") == .integer(Int64(value)))
        }
        #expect(db.cachedStatementCount <= Database.statementCacheLimit)
    }

    @Test func aMalformedStatementIsReportedWithItsSQL() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        let error = #expect(throws: SQLiteError.self) { try db.execute("SELEKT 1", []) }
        #expect(error?.kind == .other)
        #expect(error?.sql == "SELEKT 1")
        #expect(error?.message.contains("syntax error") == true)
    }

    @Test func backupCopiesAConsistentDatabase() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        try db.write { db in
            for i in 0..<500 { try db.execute("INSERT INTO t (i, s) VALUES (?, ?)", [.integer(Int64(i)), "row"]) }
        }
        let copyPath = directory.file("copy.db")
        try db.backup(to: copyPath)
        let copy = try Database(path: copyPath, options: .init(readOnly: true))
        #expect(try copy.scalar("SELECT count(*) FROM t") == .integer(500))
        #expect(try copy.integrityCheck() == ["ok"])
    }

    @Test func backupToAnUnwritablePlaceFailsCleanly() throws {
        let directory = try TemporaryDirectory()
        let db = try openWithTable(directory)
        let error = #expect(throws: SQLiteError.self) { try db.backup(to: "/nonexistent-folder/copy.db") }
        #expect(error?.kind == .cantOpen)
    }
}
