import Foundation
import Testing

@testable import TroupePersistence

@Suite(.timeLimit(.minutes(5)))
struct GroupCommitWriterTests {
    private static let schema = Migrator([
        Migration("items", sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, body BLOB)")
    ])

    private func openWriter(
        _ directory: borrowing TemporaryDirectory,
        _ configuration: GroupCommitWriter.Configuration = .init()
    ) async throws -> GroupCommitWriter {
        try await GroupCommitWriter(path: directory.file(), configuration: configuration) { db in
            try Self.schema.migrate(db)
        }
    }

    private func count(_ path: String) throws -> Int64? {
        try Database(path: path, options: .init(readOnly: true)).scalar("SELECT count(*) FROM items")?.integerValue
    }

    @Test func thousandConcurrentSubmittersEachGetTheirOwnResultInFewTransactions() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        let results = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
            for index in 0..<1000 {
                group.addTask {
                    let rowID = try await writer.submit { db in
                        try db.execute("INSERT INTO items (name) VALUES (?)", [.text("item-\(index)")])
                        return db.lastInsertRowID
                    }
                    return (index, rowID)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 1000)
        #expect(Set(results.values).count == 1000, "every caller got its own row id back")
        let stats = writer.stats
        #expect(stats.committedChanges == 1000)
        #expect(stats.failedChanges == 0)
        // Batching: one fsync for many changes. 1,000 changes arriving together commit in far
        // fewer transactions than changes.
        #expect(stats.transactions <= 100, "\(stats.transactions) transactions for 1,000 changes")
        #expect(stats.meanBatchSize >= 10)
        await writer.close()
        // Each caller's row id names its own row.
        let db = try Database(path: directory.file(), options: .init(readOnly: true))
        for (index, rowID) in results.prefix(50) {
            #expect(try db.scalar("SELECT name FROM items WHERE id = ?", [.integer(rowID)]) == .text("item-\(index)"))
        }
    }

    @Test func aThrowingChangeIsRolledBackAloneAndTheRestOfItsBatchCommits() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        struct Refused: Error, Equatable { let index: Int }
        let outcomes = await withTaskGroup(of: (Int, Result<Void, any Error>).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let result = await outcome {
                        try await writer.submit { db in
                            try db.execute("INSERT INTO items (name) VALUES (?)", [.text("row-\(index)")])
                            if index % 50 == 7 { throw Refused(index: index) }
                        }
                    }
                    return (index, result)
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (index, outcome) in outcomes {
            if index % 50 == 7 {
                #expect(throws: Refused(index: index)) { try outcome.get() }
            } else {
                #expect(throws: Never.self) { try outcome.get() }
            }
        }
        await writer.close()
        #expect(try count(directory.file()) == 196)
        let names = try Database(path: directory.file()).query("SELECT name FROM items WHERE name IN ('row-7','row-57','row-107','row-157')") { $0.string(at: 0) }
        #expect(names.isEmpty, "a failed change leaves nothing behind")
    }

    @Test func aConstraintViolationReachesOnlyItsCaller() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('taken')") }
        let duplicate = Task { try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('taken')") } }
        let fresh = Task { try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('free')") } }
        let error = await #expect(throws: SQLiteError.self) { try await duplicate.value }
        #expect(error?.kind == .constraint)
        try await fresh.value
        await writer.close()
        #expect(try count(directory.file()) == 2)
    }

    @Test func aFullDatabaseFailsTheChangeThatFilledItAndTheOthersCommit() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        // The page limit stands in for a full disk: SQLite reports SQLITE_FULL the same way.
        try await writer.submit { db in _ = try db.scalar("PRAGMA max_page_count = 40") }
        let huge = [UInt8](repeating: 1, count: 400_000)
        for round in 0..<3 {
            let outcomes = await withTaskGroup(of: (Bool, Result<Void, any Error>).self) { group in
                for index in 0..<30 {
                    let isHuge = index == 15
                    group.addTask {
                        let result = await outcome {
                            try await writer.submit { db in
                                try db.execute("INSERT INTO items (name, body) VALUES (?, ?)",
                                               [.text("r\(round)-\(index)"), .blob(isHuge ? huge : [1, 2, 3])])
                            }
                        }
                        return (isHuge, result)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for (isHuge, outcome) in outcomes {
                if isHuge {
                    let error = #expect(throws: SQLiteError.self) { try outcome.get() }
                    #expect(error?.kind == .full)
                } else {
                    #expect(throws: Never.self) { try outcome.get() }
                }
            }
        }
        await writer.close()
        #expect(try count(directory.file()) == 87)
        #expect(try Database(path: directory.file()).integrityCheck() == ["ok"])
    }

    @Test func aLockHeldByAnotherConnectionFailsTheBatchAndTheWriterRecovers() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory, .init(busyTimeout: .milliseconds(50)))
        let holder = try Database(path: directory.file())
        try holder.execute("BEGIN EXCLUSIVE")
        let error = await #expect(throws: SQLiteError.self) {
            try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('blocked')") }
        }
        #expect(error?.kind == .busy)
        try holder.execute("COMMIT")
        try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('after')") }
        await writer.close()
        #expect(try count(directory.file()) == 1)
    }

    @Test func aChangeThatAbortsTheWholeTransactionCostsItsBatchmatesNothing() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        try await writer.submit { db in _ = try db.scalar("PRAGMA max_page_count = 40") }
        let hold = try await WriterHold(writer)
        // While the writer is held, queue: small, small, huge, small — one batch, in that order.
        var queued: [Task<Void, any Error>] = []
        for (index, size) in [3, 3, 400_000, 3].enumerated() {
            queued.append(Task {
                try await writer.submit { db in
                    try db.execute("INSERT INTO items (name, body) VALUES (?, ?)",
                                   [.text("b\(index)"), .blob([UInt8](repeating: 1, count: size))])
                }
            })
            while writer.queueDepth < index + 1 { await Task.yield() }
        }
        try await hold.release()
        let results = await queued.asyncMap { task in await outcome { try await task.value } }
        #expect(results.map { (try? $0.get()) != nil } == [true, true, false, true])
        // SQLite rolled back the whole transaction on SQLITE_FULL; the two changes applied before
        // the huge one were run again in a fresh transaction instead of being lost.
        #expect(writer.stats.retriedChanges == 2)
        await writer.close()
        #expect(try count(directory.file()) == 4)  // the hold's own row and three small rows
    }

    @Test func aFullQueueRefusesAtOnceWithOverloaded() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory, .init(queueCapacity: 4))
        let hold = try await WriterHold(writer)
        let queued = (0..<4).map { index in
            Task { try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES (?)", [.text("q\(index)")]) } }
        }
        while writer.queueDepth < 4 { await Task.yield() }
        let error = await #expect(throws: SQLiteError.self) {
            try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('refused')") }
        }
        #expect(error?.kind == .overloaded)
        #expect(writer.stats.overloadRejections == 1)
        try await hold.release()
        for task in queued { try await task.value }
        await writer.close()
        #expect(try count(directory.file()) == 5)
    }

    @Test func closeCommitsWhatIsQueuedThenRefusesNewChanges() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        let pending = (0..<100).map { index in
            Task { try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES (?)", [.text("c\(index)")]) } }
        }
        while writer.queueDepth + writer.stats.committedChanges < 100 { await Task.yield() }
        await writer.close()
        for task in pending { try await task.value }
        let error = await #expect(throws: SQLiteError.self) {
            try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES ('late')") }
        }
        #expect(error?.kind == .misuse)
        #expect(try count(directory.file()) == 100)
    }

    @Test func anAcknowledgedChangeIsVisibleToANewConnectionAtOnce() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory)
        let reader = try Database(path: directory.file(), options: .init(readOnly: true))
        for index in 1...20 {
            try await writer.submit { db in try db.execute("INSERT INTO items (name) VALUES (?)", [.text("v\(index)")]) }
            #expect(try reader.scalar("SELECT count(*) FROM items") == .integer(Int64(index)))
        }
        await writer.close()
    }

    @Test func theBackgroundCheckpointerKeepsUpWithoutBlockingCommits() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory, .init(checkpointPages: 20))
        let body = [UInt8](repeating: 3, count: 4000)
        for index in 0..<300 {
            try await writer.submit { db in
                try db.execute("INSERT INTO items (name, body) VALUES (?, ?)", [.text("k\(index)"), .blob(body)])
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while writer.stats.checkpoints == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(writer.stats.checkpoints > 0)
        #expect(writer.stats.checkpointFailures == 0)
        await writer.close()
        #expect(!FileManager.default.fileExists(atPath: directory.file() + "-wal"), "the last close checkpoints and removes the WAL")
        #expect(try count(directory.file()) == 300)
    }

    @Test func theWriterCheckpointsInlineWhenTheWALPassesTheHardLimit() async throws {
        let directory = try TemporaryDirectory()
        let writer = try await openWriter(directory, .init(checkpointPages: .max, inlineCheckpointPages: 20))
        let body = [UInt8](repeating: 3, count: 4000)
        for index in 0..<300 {
            try await writer.submit { db in
                try db.execute("INSERT INTO items (name, body) VALUES (?, ?)", [.text("h\(index)"), .blob(body)])
            }
        }
        // 300 commits of two pages or more each would leave a WAL of over 600 pages (2.4 MB)
        // without checkpoints; checkpointed at 20 pages, the WAL restarts from its beginning.
        let walBytes = try FileManager.default.attributesOfItem(atPath: directory.file() + "-wal")[.size] as? Int ?? .max
        #expect(walBytes < 40 * 4120, "WAL is \(walBytes) bytes")
        #expect(writer.stats.checkpoints == 0)
        await writer.close()
        #expect(try count(directory.file()) == 300)
    }

    @Test func aFailingPrepareStepFailsTheOpen() async throws {
        let directory = try TemporaryDirectory()
        struct Broken: Error {}
        await #expect(throws: Broken.self) {
            _ = try await GroupCommitWriter(path: directory.file()) { _ in throw Broken() }
        }
        let error = await #expect(throws: SQLiteError.self) {
            _ = try await GroupCommitWriter(path: "/nonexistent-folder/troupe.db")
        }
        #expect(error?.kind == .cantOpen)
    }
}

/// What an async throwing call came to, for tests that compare many outcomes.
func outcome(_ body: () async throws -> Void) async -> Result<Void, any Error> {
    do {
        try await body()
        return .success(())
    } catch {
        return .failure(error)
    }
}

/// Keeps the writer's thread busy inside one change (which inserts a row named `hold`) until
/// released, so that tests can line up the next batch exactly.
struct WriterHold {
    private let release: DispatchSemaphore
    private let change: Task<Void, any Error>

    init(_ writer: GroupCommitWriter) async throws {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        self.release = release
        change = Task {
            try await writer.submit { db in
                started.signal()
                release.wait()
                try db.execute("INSERT INTO items (name) VALUES ('hold')")
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                started.wait()
                continuation.resume()
            }
        }
    }

    /// Lets the held change finish and waits for it to commit.
    func release() async throws {
        release.signal()
        try await change.value
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        for element in self { results.append(await transform(element)) }
        return results
    }
}
