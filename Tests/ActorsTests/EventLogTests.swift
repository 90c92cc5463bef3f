import Foundation
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

/// The event log's rows: one per change and run, read back event by event from any seq.
@Suite(.timeLimit(.minutes(5)))
struct EventLogTests {
    private let now = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)
    private let runA = EventLog.RunKey(id: "run_a", createdAt: Timestamp(microsecondsSinceEpoch: 1_000))
    private let runB = EventLog.RunKey(id: "run_b", createdAt: Timestamp(microsecondsSinceEpoch: 2_000))

    private func database() throws -> Database {
        let path = NSTemporaryDirectory() + "troupe-events-" + RandomID.make(prefix: "t") + ".db"
        let db = try Database(path: path)
        _ = try Migrator(EventLog.migrations).migrate(db)
        return db
    }

    private func draft(_ type: EventType, _ run: EventLog.RunKey?, workspace: String = "ws_a", _ data: JSON = [:]) -> EventDraft {
        EventDraft(type, workspaceID: workspace, runID: run?.id, runCreatedAt: run?.createdAt, data: data)
    }

    @Test func aChangesEventsOfOneRunAreOneRowAndReadBackOneByOneFromAnySeq() throws {
        let db = try database()
        let created = [draft(.runCreated, runA, ["dry_run": false]), draft(.runStarted, runA), draft(.stepStarted, runA, ["step_id": "plan"])]
        let appended = try EventLog.append(created, on: db, at: now)
        #expect(appended.map(\.seq) == [1, 2, 3])
        // A change touching two runs and no run: a row for each stretch.
        _ = try EventLog.append([draft(.runCancelled, runB), draft(.runCancelled, runB), draft(.stepFailed, runA), draft(.jobDead, nil)],
                                on: db, at: now)
        #expect(try db.scalar("SELECT count(*) FROM event_rows") == .integer(4))
        #expect(try db.scalar("SELECT count(*) FROM event_rows WHERE run_id IS NOT NULL") == .integer(3), "three entries in the run index")

        let all = try EventLog.events(db, workspaceID: "ws_a", run: nil, after: 0, limit: 100)
        #expect(all.events.map(\.seq) == Array(1...7))
        #expect(all.events.map(\.type) == [.runCreated, .runStarted, .stepStarted, .runCancelled, .runCancelled, .stepFailed, .jobDead])
        #expect(all.events.prefix(3) == appended[...], "what was published is what is read back")
        // From inside a row, and a limit that ends inside one.
        #expect(try EventLog.events(db, workspaceID: "ws_a", run: nil, after: 1, limit: 3).events.map(\.seq) == [2, 3, 4])
        #expect(try EventLog.events(db, workspaceID: "ws_a", run: runA, after: 0, limit: 100).events.map(\.seq) == [1, 2, 3, 6])
        #expect(try EventLog.events(db, workspaceID: "ws_a", run: runA, after: 2, limit: 1).events.map(\.seq) == [3])
        #expect(try EventLog.events(db, workspaceID: "ws_a", run: runB, after: 0, limit: 100).events.map(\.seq) == [4, 5])
        #expect(try EventLog.events(db, workspaceID: "ws_b", run: nil, after: 0, limit: 100).events.isEmpty)
        #expect(try EventLog.lastSeq(db, workspaceID: "ws_a") == 7)
    }

    /// Large events (64 KiB each) are read in pages bounded by bytes: a stream catching up over
    /// them holds about `maxBytes`, never the whole of `limit` rows.
    @Test func aPageOfLargeEventsStopsAtItsBytes() throws {
        let db = try database()
        let big = JSON.string(String(repeating: "x", count: 64 << 10))
        for _ in 0..<20 { _ = try EventLog.append([draft(.stepSucceeded, runA, ["output": big])], on: db, at: now) }
        let page = try EventLog.events(db, workspaceID: "ws_a", run: nil, after: 0, limit: 256, maxBytes: 256 << 10)
        #expect((3...4).contains(page.events.count), "\(page.events.count) events of 64 KiB in a 256 KiB page")
        let rest = try EventLog.events(db, workspaceID: "ws_a", run: nil, after: page.events.last?.seq ?? 0, limit: 256, maxBytes: 256 << 10)
        #expect(rest.events.first?.seq == (page.events.last?.seq ?? 0) + 1, "the next page goes on with no gap")
        let one = try EventLog.events(db, workspaceID: "ws_a", run: nil, after: 0, limit: 256, maxBytes: 10)
        #expect(one.events.count == 1, "a row larger than the bound is still read, alone")
        #expect(try EventLog.events(db, workspaceID: "ws_a", run: nil, after: 0, limit: 256).events.count == 20)
    }

    @Test func aRowThatDoesNotDecodeIsSkippedAndReportedAndTheRestIsRead() throws {
        let db = try database()
        _ = try EventLog.append([draft(.runCreated, runA), draft(.runStarted, runA)], on: db, at: now)
        _ = try EventLog.append([draft(.runSucceeded, runA)], on: db, at: now)
        _ = try EventLog.append([draft(.runCreated, runB), draft(.runStarted, runB)], on: db, at: now)
        try db.execute("UPDATE event_rows SET events = CAST('{not json' AS BLOB) WHERE last_seq = 2")
        try db.execute("""
            UPDATE event_rows SET events = CAST('[{"id":"evt_x","type":"run.exploded","data":{}},{"id":"evt_y","type":"run.started","data":{}}]' AS BLOB)
            WHERE last_seq = 5
            """)
        let read = try EventLog.events(db, workspaceID: "ws_a", run: nil, after: 0, limit: 100)
        #expect(read.events.map(\.seq) == [3, 5])
        #expect(read.unreadable.map(\.0) == ["1-2", "4"])
    }

    @Test func theFirstLayoutsEventsMoveToRowsOfTheirOwnAndACorruptOneIsSetAsideOnRead() throws {
        let path = NSTemporaryDirectory() + "troupe-events-" + RandomID.make(prefix: "t") + ".db"
        let db = try Database(path: path)
        _ = try Migrator(Array(EventLog.migrations.prefix(1))).migrate(db)
        for (seq, data) in [(1, #"{"workflow_id":"wf_1","dry_run":false}"#), (2, "{broken"), (3, #"{"status":"running"}"#)] {
            try db.execute("""
                INSERT INTO events (workspace_id, seq, id, type, run_id, run_created_at, data, created_at) VALUES ('ws_a', ?, ?, ?, 'run_a', 1000, ?, 7)
                """, [.integer(Int64(seq)), .text("evt_\(seq)"), .text(seq == 1 ? "run.created" : "run.started"), .blob(Array(data.utf8))])
        }
        #expect(try Migrator(EventLog.migrations).migrate(db) == ["events-2-rows-per-change"])
        let read = try EventLog.events(db, workspaceID: "ws_a", run: runA, after: 0, limit: 100)
        #expect(read.events.map(\.seq) == [1, 3])
        #expect(read.events.first?.data == ["workflow_id": "wf_1", "dry_run": false])
        #expect(read.events.first?.id == "evt_1")
        #expect(read.unreadable.map(\.0) == ["2-2"])
        #expect(try EventLog.lastSeq(db, workspaceID: "ws_a") == 3)
    }
}
