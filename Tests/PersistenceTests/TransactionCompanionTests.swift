import Foundation
import Testing

@testable import TroupePersistence

struct TransactionCompanionTests {
    private static let schema = Migrator([
        Migration("items", sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
    ])

    private func names(_ path: String) throws -> [String] {
        try Database(path: path, options: .init(readOnly: true)).query("SELECT name FROM items ORDER BY id") { $0.string(at: 0) ?? "" }
    }

    private func insert(_ name: String) -> @Sendable (Database) throws -> Void {
        { db in try db.execute("INSERT INTO items (name) VALUES (?)", [.text(name)]) }
    }

    @Test func itCommitsWithTheFirstChangeOnly() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in try Self.schema.migrate(db) }
        let companion = TransactionCompanion(insert("answer"))
        try await GroupCommitWriter.$companion.withValue(companion) {
            try await writer.submit(insert("resource"))
            #expect(companion.committed)
            try await writer.submit(insert("later"))
        }
        try await writer.submit(insert("outside"))
        await writer.close()
        #expect(try names(directory.file()) == ["resource", "answer", "later", "outside"])
    }

    @Test func aChangeThatThrowsTakesItsCompanionDownWithItAndTheNextChangeTakesIt() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in try Self.schema.migrate(db) }
        try await writer.submit(insert("taken"))
        let companion = TransactionCompanion(insert("answer"))
        await GroupCommitWriter.$companion.withValue(companion) {
            // The resource's insert fails on the unique name: the companion is rolled back too.
            await #expect(throws: SQLiteError.self) { try await writer.submit(self.insert("taken")) }
            #expect(!companion.committed)
        }
        #expect(try names(directory.file()) == ["taken"])
        try await GroupCommitWriter.$companion.withValue(companion) {
            try await writer.submit(insert("resource"))
        }
        #expect(companion.committed)
        await writer.close()
        #expect(try names(directory.file()) == ["taken", "resource", "answer"])
    }

    @Test func aCompanionThatThrowsRollsBackTheChangeItWentWith() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in try Self.schema.migrate(db) }
        let companion = TransactionCompanion { db in try db.execute("INSERT INTO missing_table VALUES (1)") }
        await GroupCommitWriter.$companion.withValue(companion) {
            await #expect(throws: SQLiteError.self) { try await writer.submit(self.insert("resource")) }
        }
        #expect(!companion.committed)
        await writer.close()
        #expect(try names(directory.file()).isEmpty)
    }
}
