import Testing

@testable import TroupePersistence

@Suite(.timeLimit(.minutes(5)))
struct MigratorTests {
    private static let first = Migration("create a", sql: "CREATE TABLE a (id INTEGER PRIMARY KEY)")
    private static let second = Migration("create b", sql: "CREATE TABLE b (id INTEGER PRIMARY KEY)")

    private func tables(_ db: Database) throws -> [String] {
        try db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") { $0.string(at: 0) ?? "" }
    }

    @Test func appliesMigrationsInOrderOnce() throws {
        let directory = try TemporaryDirectory()
        let db = try Database(path: directory.file())
        let migrator = Migrator([Self.first, Self.second])
        #expect(try migrator.migrate(db) == ["create a", "create b"])
        #expect(try migrator.migrate(db) == [])
        #expect(try migrator.appliedNames(db) == ["create a", "create b"])
        #expect(try tables(db) == ["a", "b", "troupe_migrations"])
    }

    @Test func laterMigrationsApplyToAnOlderDatabase() throws {
        let directory = try TemporaryDirectory()
        let db = try Database(path: directory.file())
        try Migrator([Self.first]).migrate(db)
        #expect(try Migrator([Self.first, Self.second]).migrate(db) == ["create b"])
    }

    @Test func aFailingMigrationLeavesTheDatabaseAtThePreviousStep() throws {
        let directory = try TemporaryDirectory()
        let db = try Database(path: directory.file())
        let broken = Migration("half done") { db in
            try db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY)")
            try db.execute("INSERT INTO missing VALUES (1)")
        }
        #expect(throws: SQLiteError.self) { try Migrator([Self.first, broken, Self.second]).migrate(db) }
        #expect(try tables(db) == ["a", "troupe_migrations"], "neither c nor b exists")
        #expect(try Migrator([Self.first]).appliedNames(db) == ["create a"])
        // Fixed and rerun, it carries on from where it stopped.
        let fixed = Migration("half done", sql: "CREATE TABLE c (id INTEGER PRIMARY KEY)")
        #expect(try Migrator([Self.first, fixed, Self.second]).migrate(db) == ["half done", "create b"])
    }

    @Test func aDatabaseFromANewerVersionIsRefusedUntouched() throws {
        let directory = try TemporaryDirectory()
        let db = try Database(path: directory.file())
        try Migrator([Self.first, Self.second]).migrate(db)
        let error = #expect(throws: SQLiteError.self) { try Migrator([Self.first]).migrate(db) }
        #expect(error?.kind == .schemaTooNew)
        #expect(error?.message.contains("newer version of Troupe") == true)
        #expect(error?.message.contains("create b") == true)
        #expect(try Migrator([Self.first, Self.second]).appliedNames(db) == ["create a", "create b"])
    }

    /// A database made by a list that held the same steps in another order, or fewer of them in
    /// between (the runtime's own list before it became the server's), gets what it lacks.
    @Test func stepsAreRecordedByNameSoADatabaseOfAnotherOrderIsCompletedNotRefused() throws {
        let directory = try TemporaryDirectory()
        let db = try Database(path: directory.file())
        let third = Migration("create c", sql: "CREATE TABLE c (id INTEGER PRIMARY KEY)")
        try Migrator([Self.first, third]).migrate(db)
        #expect(try Migrator([Self.first, Self.second, third]).migrate(db) == ["create b"])
        #expect(try Migrator([Self.first, Self.second, third]).appliedNames(db) == ["create a", "create c", "create b"])
        #expect(try tables(db) == ["a", "b", "c", "troupe_migrations"])
    }
}
