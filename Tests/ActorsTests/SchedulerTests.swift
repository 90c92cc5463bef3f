import Foundation
import Synchronization
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

/// The durable clock: `due_work` rows written with the change that makes them due, fired in
/// order and at most once by the ``Scheduler`` (driven by a manual clock), kept across a
/// restart, and retried after a back-off when their handler fails.
@Suite(.timeLimit(.minutes(2)))
struct SchedulerTests {
    /// Records what it fires and removes each row in the change that records it, as a real
    /// handler does; fails the keys in `failing` once each.
    private final class Recorder: Sendable {
        let fired = Mutex<[String]>([])
        let failing = Mutex<Set<String>>([])

        func handler(_ runtime: TroupeRuntime) -> Scheduler.Handler {
            { [self] work in
                if failing.withLock({ $0.remove(work.key) != nil }) { throw TestFault() }
                try await runtime.store.journal.commit(Change(.system) { transaction in
                    try transaction.unschedule(kind: work.kind, key: work.key)
                })
                fired.withLock { $0.append(work.key) }
            }
        }
    }

    private struct TestFault: Error {}

    private func schedule(_ runtime: TroupeRuntime, _ key: String, in delay: Duration) async throws {
        let work = DueWork(kind: "test.record", key: key, workspaceID: "ws_a", dueAt: runtime.clock.now + delay)
        try await runtime.store.journal.commit(Change(.system) { transaction in try transaction.schedule(work) })
    }

    @Test func aSubjectsRowsFireEarliestFirstAndAtMostOnceEvenWhenTwoPassesRace() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let recorder = Recorder()
        runtime.scheduler.register("test.record", recorder.handler(runtime))
        // One subject (`s`, as a run is for its steps): its rows fire in their order.
        try await schedule(runtime, "s/third", in: .seconds(3))
        try await schedule(runtime, "s/first", in: .seconds(1))
        try await schedule(runtime, "s/second", in: .seconds(2))
        try await schedule(runtime, "s/later", in: .seconds(60))
        let pending = try await runtime.scheduler.pending()
        #expect(pending.byKind == ["test.record": 4] && pending.earliest == clock.now + .seconds(1))
        clock.advance(by: .seconds(5))
        async let one = runtime.scheduler.fireDue()
        async let two = runtime.scheduler.fireDue()
        let total = try await one + two
        #expect(total == 3)
        #expect(recorder.fired.withLock { $0 } == ["s/first", "s/second", "s/third"])
        #expect(try await runtime.scheduler.fireDue() == 0)
        await runtime.close()
    }

    @Test func aFailingHandlerIsTriedAgainAfterABackoffAndItsRowKept() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let recorder = Recorder()
        recorder.failing.withLock { $0 = ["flaky"] }
        runtime.scheduler.register("test.record", recorder.handler(runtime))
        try await schedule(runtime, "flaky", in: .seconds(1))
        clock.advance(by: .seconds(2))
        #expect(try await runtime.scheduler.fireDue() == 1, "tried")
        #expect(recorder.fired.withLock { $0 }.isEmpty)
        #expect(try await runtime.scheduler.fireDue() == 0, "not again before its back-off")
        clock.advance(by: .seconds(60))
        #expect(try await runtime.scheduler.fireDue() == 1)
        #expect(recorder.fired.withLock { $0 } == ["flaky"])
        await runtime.close()
    }

    @Test func theServiceFiresOnItsOwnWhenTheClockComesAndWhenACommitSchedulesWork() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let recorder = Recorder()
        runtime.scheduler.register("test.record", recorder.handler(runtime))
        let service = Task { try await runtime.scheduler.run() }
        defer { service.cancel() }
        try await schedule(runtime, "now", in: .zero)
        try await schedule(runtime, "soon", in: .seconds(30))
        var deadline = ContinuousClock.now + .seconds(10)
        while recorder.fired.withLock({ $0 }) != ["now"], ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(recorder.fired.withLock { $0 } == ["now"], "woken by the commit")
        clock.advance(by: .seconds(31))
        deadline = ContinuousClock.now + .seconds(10)
        while recorder.fired.withLock({ $0 }).count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(recorder.fired.withLock { $0 } == ["now", "soon"], "woken by the clock")
        service.cancel()
        await runtime.close()
    }

    private func waitWorkflow(_ runtime: TroupeRuntime) async throws -> WorkflowRecord {
        let steps = try WorkflowParser.parse(steps: JSON.parse(Array(#"[{"id":"nap","kind":"wait","duration_ms":60000}]"#.utf8))).get()
        return try await WorkflowStore(store: runtime.store).create(id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: "nap",
                                                                    name: "Nap", steps: steps, costCapUSD: nil, at: runtime.clock.now)
    }

    private func startRun(_ runtime: TroupeRuntime, _ workflow: WorkflowRecord) async throws -> String {
        let id = RandomID.make(prefix: "run")
        let state = RunState(workspace: "ws_a", workflow: workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                             createdBy: ["type": "user", "id": "usr_1"], at: runtime.clock.now)
        _ = try await runtime.runs.create(id: id, state: state, activeRunCap: nil)
        return id
    }

    /// A wait's end is a row, not a task: the server stops before it, and the next start fires
    /// it once, late.
    @Test func aWaitThatFellDueWhileTheServerWasDownFiresOnceAfterTheRestart() async throws {
        let directory = NSTemporaryDirectory() + "troupe-due-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let first = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        let id = try await startRun(first, try await waitWorkflow(first))
        await first.close()
        clock.advance(by: .seconds(3600))
        let second = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        #expect(try await second.scheduler.fireDue() == 1)
        #expect(try await second.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .succeeded)
        #expect(try await second.scheduler.fireDue() == 0)
        await second.close()
    }

    @Test func aDatabaseFromBeforeTheClockHasItsRunningWaitsMadeDue() async throws {
        let directory = NSTemporaryDirectory() + "troupe-due-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let before = Migrator(Array(TroupeRuntime.migrations.migrations.prefix { $0.name != DueWork.migration.name }))
        let old = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock, migrator: before)
        try TodaysColumns.add(toDatabaseAt: directory + "/troupe.db")
        let started = clock.now
        // Runs written as the server before the clock wrote them: a snapshot, no due row.
        let workflow = try await waitWorkflow(old)
        var state = RunState(workspace: "ws_a", workflow: workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                             createdBy: ["type": "user", "id": "usr_1"], at: started)
        _ = try state.machine.apply(.start, at: started)
        try await old.store.save(state, kind: RunActor.kind, id: "run_old", at: started)
        await old.close()

        let new = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        let rows = try await new.store.reader.read { db in
            try db.query("SELECT key, due_at FROM due_work") { ($0.string(at: 0) ?? "", $0.int64(at: 1)) }
        }
        #expect(rows.map(\.0) == ["run_old/nap"])
        #expect(rows.first?.1 == (started + .seconds(60)).microsecondsSinceEpoch)
        clock.advance(by: .seconds(61))
        #expect(try await new.scheduler.fireDue() == 1)
        #expect(try await new.runs.state(of: "run_old", workspaceID: "ws_a")?.machine.status == .succeeded)
        await new.close()
    }
}
