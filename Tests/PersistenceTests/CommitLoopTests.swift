import Foundation
import Testing

@testable import TroupePersistence

/// A batch runs its changes without savepoints; one that throws makes the batch start again
/// with it and those after it isolated, and the batches after it run isolated (``CommitLoop``).
@Suite(.timeLimit(.minutes(5)))
struct CommitLoopTests {
    private struct Refused: Error, Equatable { let name: String }

    /// Lines up `plan` (a row name each, and whether its change throws after inserting it) as
    /// one batch behind a hold, and returns which changes succeeded.
    private func runBatch(_ writer: GroupCommitWriter, _ plan: [(String, throws: Bool)]) async throws -> [Bool] {
        let hold = try await WriterHold(writer)
        var queued: [Task<Void, any Error>] = []
        for (index, (name, throwing)) in plan.enumerated() {
            queued.append(Task {
                try await writer.submit { db in
                    try db.execute("INSERT INTO items (name) VALUES (?)", [.text(name)])
                    if throwing { throw Refused(name: name) }
                }
            })
            while writer.queueDepth < index + 1 { await Task.yield() }
        }
        try await hold.release()
        return await queued.asyncMap { task in await outcome { try await task.value } }.map { (try? $0.get()) != nil }
    }

    @Test func aFailureReplaysTheChangesBeforeItAndIsolatesTheBatchesAfterIt() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await GroupCommitWriter(path: directory.file()) { db in
            try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, body BLOB)")  // a hold per batch: names repeat
        }
        // Bare: the third change throws, so the two before it run again and it and the fourth
        // run in savepoints.
        #expect(try await runBatch(writer, [("a", false), ("b", false), ("c", true), ("d", false)]) == [true, true, false, true])
        #expect(writer.stats.replayedChanges == 2)
        // After a failure the next batches are isolated from their start: nothing is replayed
        // (the hold's own batch is one of them), and a failure among them isolates more.
        #expect(try await runBatch(writer, [("e", false), ("f", true), ("g", false)]) == [true, false, true])
        #expect(writer.stats.replayedChanges == 2)
        for index in 0..<CommitLoop.isolatedBatchesAfterFailure {
            try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES (?)", [.text("clean-\(index)")]) }
        }
        // Then batches run bare again.
        #expect(try await runBatch(writer, [("j", false), ("k", true)]) == [true, false])
        #expect(writer.stats.replayedChanges == 3)
        for index in 0..<CommitLoop.isolatedBatchesAfterFailure {
            try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES (?)", [.text("clean-again-\(index)")]) }
        }
        // A failing first change is rolled back with the transaction it had to itself: no replay.
        #expect(try await runBatch(writer, [("m", true), ("n", false)]) == [false, true])
        #expect(writer.stats.replayedChanges == 3)
        #expect(writer.stats.failedChanges == 4)
        await writer.close()
        let names = try Database(path: directory.file(), options: .init(readOnly: true))
            .query("SELECT name FROM items WHERE name != 'hold' AND name NOT LIKE 'clean-%' ORDER BY name") { $0.string(at: 0) ?? "" }
        #expect(names == ["a", "b", "d", "e", "g", "j", "n"], "a failed change leaves no row, and no other row is lost or doubled")
    }
}
