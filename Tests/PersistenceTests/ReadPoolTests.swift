import Testing

@testable import TroupePersistence

@Suite(.timeLimit(.minutes(5)))
struct ReadPoolTests {
    @Test func readsSeeEveryAcknowledgedWriteWhileWritesGoOn() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in
            try db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        }
        let pool = try await ReadPool(path: directory.file(), connections: 2)
        for value in 1...50 {
            try await writer.submit { db in try db.execute("INSERT INTO counter (value) VALUES (?)", [.integer(Int64(value))]) }
            async let first = pool.read { db in try db.scalar("SELECT count(*) FROM counter")?.integerValue }
            async let second = pool.read { db in try db.scalar("SELECT max(value) FROM counter")?.integerValue }
            let (count, maximum) = try await (first, second)
            #expect(count.map { $0 >= Int64(value) } == true)
            #expect(maximum.map { $0 >= Int64(value) } == true)
        }
        await pool.close()
        await writer.close()
    }

    @Test func manyConcurrentReadsAreAllServed() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            try db.execute("INSERT INTO t (id) VALUES (1), (2), (3)")
        }
        let pool = try await ReadPool(path: directory.file(), connections: 3)
        let total = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<500 {
                group.addTask { try await pool.read { db in try db.scalar("SELECT sum(id) FROM t")?.integerValue ?? 0 } }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 500 * 6)
        await pool.close()
        await writer.close()
    }

    /// `read` wraps its body in a transaction; `readStatement` runs it in autocommit mode, and
    /// both see every acknowledged write and pass on the body's error.
    @Test func readStatementRunsWithoutATransaction() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        }
        let pool = try await ReadPool(path: directory.file(), connections: 1)
        try await writer.submit { db in try db.execute("INSERT INTO t (id) VALUES (7)") }
        let inTransaction = try await pool.read { db in (db.isInTransaction, try db.scalar("SELECT max(id) FROM t")?.integerValue) }
        #expect(inTransaction.0 == true)
        #expect(inTransaction.1 == 7)
        let autocommit = try await pool.readStatement { db in (db.isInTransaction, try db.scalar("SELECT max(id) FROM t")?.integerValue) }
        #expect(autocommit.0 == false)
        #expect(autocommit.1 == 7)
        await #expect(throws: SQLiteError.self) { try await pool.readStatement { db in try db.scalar("SELECT nothing FROM t") } }
        #expect(try await pool.readStatement { db in try db.scalar("SELECT count(*) FROM t")?.integerValue } == 1, "the connection still serves")
        await pool.close()
        await writer.close()
    }

    @Test func aPoolConnectionCannotWrite() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        }
        let pool = try await ReadPool(path: directory.file(), connections: 1)
        let error = await #expect(throws: SQLiteError.self) {
            try await pool.read { db in try db.execute("INSERT INTO t (id) VALUES (1)") }
        }
        #expect(error?.kind == .readOnly)
        await pool.close()
        await writer.close()
    }

    @Test func readsAfterCloseAreRefused() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file())
        let pool = try await ReadPool(path: directory.file(), connections: 1)
        await pool.close()
        let error = await #expect(throws: SQLiteError.self) { try await pool.read { _ in 1 } }
        #expect(error?.kind == .misuse)
        await writer.close()
    }

    @Test func poolConnectionsMapTheFileForPointReads() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file())
        let pool = try await ReadPool(path: directory.file(), connections: 1)
        let mapped = try await pool.read { db in try db.scalar("PRAGMA mmap_size")?.integerValue }
        #expect((mapped ?? 0) > 0)
        await pool.close()
        await writer.close()
    }

    @Test func openingAMissingDatabaseFails() async throws {
        let directory = try TemporaryDirectory()
        let error = await #expect(throws: SQLiteError.self) {
            _ = try await ReadPool(path: directory.file("absent.db"), connections: 2)
        }
        #expect(error?.kind == .cantOpen)
    }
}
