import Foundation
import Synchronization
import Testing
import TroupeCore

@testable import TroupePersistence

/// `submit(_:afterCommit:)`: the hook the journal publishes events from.
@Suite(.timeLimit(.minutes(5)))
struct AfterCommitTests {
    private static let schema = Migrator([
        Migration("items", sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
    ])

    private func insert(_ name: String) -> @Sendable (Database) throws -> String {
        { db in
            try db.execute("INSERT INTO items (name) VALUES (?)", [.text(name)])
            return name
        }
    }

    @Test func theHookSeesEveryCommittedChangeInCommitOrderBeforeItsCallerResumes() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in try Self.schema.migrate(db) }
        let seen = LockedBox<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                let change = insert("item-\(index)")
                group.addTask {
                    let name = "item-\(index)"
                    _ = try await writer.submit(change) { value in seen.withLock { $0.append(value) } }
                    #expect(seen.withLock { $0.contains(name) })
                }
            }
            try await group.waitForAll()
        }
        await writer.close()
        let stored = try Database(path: directory.file(), options: .init(readOnly: true))
            .query("SELECT name FROM items ORDER BY id") { $0.string(at: 0) ?? "" }
        #expect(seen.value == stored)
    }

    @Test func aChangeThatThrowsNeverReachesTheHook() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in try Self.schema.migrate(db) }
        let calls = Atomic<Int>(0)
        _ = try await writer.submit(insert("taken"))
        await #expect(throws: SQLiteError.self) {
            _ = try await writer.submit(self.insert("taken")) { _ in calls.add(1, ordering: .relaxed) }
        }
        await writer.close()
        #expect(calls.load(ordering: .relaxed) == 0)
    }
}
