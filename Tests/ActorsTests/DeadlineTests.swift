import Foundation
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

/// Deadlines on the manual clock: an approval's `timeout_ms`, a run's `deadline_at`, their
/// events and audit entries, the rows that carry them, and a restart in between.
@Suite(.timeLimit(.minutes(2)))
struct DeadlineTests {
    private func workflow(_ runtime: TroupeRuntime, _ steps: String, timeout: Int64? = nil) async throws -> WorkflowRecord {
        let parsed = try WorkflowParser.parse(steps: JSON.parse(Array(steps.utf8))).get()
        return try await runtime.workflows.create(id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: "w-\(RandomID.make(prefix: "s"))",
                                                  name: "W", steps: parsed, costCapUSD: nil, timeoutMilliseconds: timeout, at: runtime.clock.now)
    }

    private func start(_ runtime: TroupeRuntime, _ workflow: WorkflowRecord) async throws -> (String, RunState) {
        let id = RandomID.make(prefix: "run")
        let state = RunState(workspace: "ws_a", workflow: workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                             createdBy: ["type": "user", "id": "usr_1"], at: runtime.clock.now)
        return (id, try await runtime.runs.create(id: id, state: state, activeRunCap: nil).0)
    }

    private func dueRows(_ runtime: TroupeRuntime) async throws -> [String] {
        try await runtime.store.reader.read { db in
            try db.query("SELECT kind || ' ' || key FROM due_work ORDER BY kind, key") { $0.string(at: 0) ?? "" }
        }
    }

    private func events(_ runtime: TroupeRuntime, _ id: String, _ state: RunState) async throws -> [Event] {
        try await runtime.store.events.events(workspaceID: "ws_a", run: EventLog.RunKey(id: id, createdAt: state.createdAt), after: 0, limit: 100)
    }

    @Test func anApprovalUndecidedAtItsDeadlineFailsTheRun() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let definition = try await workflow(runtime, #"[{"id":"gate","kind":"approval","timeout_ms":5000}]"#)
        let (id, state) = try await start(runtime, definition)
        #expect(state.machine.status == .awaitingApproval)
        #expect(try await dueRows(runtime) == ["step.deadline \(id)/gate"])
        let waiting = try #require(try await events(runtime, id, state).first { $0.type == .stepWaiting })
        #expect(waiting.data["deadline_at"] == .string((state.createdAt + .seconds(5)).rfc3339))

        clock.advance(by: .milliseconds(4_999))
        try await runtime.scheduler.fireDue()
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .awaitingApproval)
        clock.advance(by: .milliseconds(1))
        try await runtime.scheduler.fireDue()
        let failed = try #require(try await runtime.runs.state(of: id, workspaceID: "ws_a"))
        #expect(failed.machine.status == .failed)
        #expect(failed.machine.failure == RunMachine.Failure(code: "approval_timeout", message: "Step gate was not decided before its deadline.",
                                                             stepID: "gate"))
        #expect(failed.machine.steps.first?.error?["code"] == "approval_timeout")
        #expect(try await dueRows(runtime).isEmpty)
        let types = try await events(runtime, id, state).map(\.type)
        #expect(types.suffix(2) == [.stepTimedOut, .runFailed])
        let audit = try await runtime.store.audit.entries(workspaceID: "ws_a", filter: .init(), limit: 10)
        #expect(audit.contains { $0.event == "step.timed_out" && $0.actor.type == "server" && $0.actor.id == "deadline" && $0.targetID == id })
        await runtime.close()
    }

    @Test func aDecisionBeforeTheDeadlineRemovesItsRowAndNoTimeoutMeansNoRow() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let timed = try await workflow(runtime, #"[{"id":"gate","kind":"approval","timeout_ms":5000}]"#)
        let (id, _) = try await start(runtime, timed)
        _ = try await runtime.runs.apply(.approve(role: .owner, note: nil), to: id)
        #expect(try await dueRows(runtime).isEmpty)
        let untimed = try await workflow(runtime, #"[{"id":"gate","kind":"approval"}]"#)
        #expect(untimed.steps.first?.timeoutMilliseconds == nil, "no default: it waits until the run ends")
        let (open, _) = try await start(runtime, untimed)
        #expect(try await dueRows(runtime).isEmpty)
        clock.advance(by: .seconds(86_400 * 40))
        try await runtime.scheduler.fireDue()
        #expect(try await runtime.runs.state(of: open, workspaceID: "ws_a")?.machine.status == .awaitingApproval)
        await runtime.close()
    }

    /// The run's deadline fires after a restart that came after it, once: its job is cancelled.
    @Test func aRunUnfinishedAtItsDeadlineFailsAndItsJobIsCancelledEvenAcrossARestart() async throws {
        let directory = NSTemporaryDirectory() + "troupe-deadline-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let first = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        let definition = try await workflow(first, #"[{"id":"work","kind":"task","queue":"q"}]"#, timeout: 10_000)
        let (id, state) = try await start(first, definition)
        #expect(state.deadlineAt == state.createdAt + .seconds(10))
        #expect(try await dueRows(first) == ["run.deadline \(id)"])
        await first.close()

        clock.advance(by: .seconds(60))
        let second = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        #expect(try await second.scheduler.fireDue() == 1)
        let failed = try #require(try await second.runs.state(of: id, workspaceID: "ws_a"))
        #expect(failed.machine.status == .failed)
        #expect(failed.machine.failure?.code == "run_timeout" && failed.machine.failure?.stepID == nil)
        let job = try #require(failed.jobs["work"])
        #expect(try await JobStore(store: second.store).job(workspaceID: "ws_a", id: job)?.machine.status == .cancelled)
        #expect(try await second.scheduler.fireDue() == 0, "never twice")
        let types = try await events(second, id, state).map(\.type)
        #expect(types.suffix(2) == [.runTimedOut, .runFailed])
        let audit = try await second.store.audit.entries(workspaceID: "ws_a", filter: .init(), limit: 10)
        #expect(audit.contains { $0.event == "run.timed_out" && $0.actor.id == "deadline" && $0.targetID == id })

        // A retry past the deadline times out again at once; a run that finishes first leaves no row.
        _ = try await second.runs.apply(.retry(fromStepID: nil), to: id)
        try await second.scheduler.fireDue()
        #expect(try await second.runs.state(of: id, workspaceID: "ws_a")?.machine.failure?.code == "run_timeout")
        let (quick, _) = try await start(second, definition)
        _ = try await second.runs.apply(.cancel, to: quick)
        #expect(try await dueRows(second).isEmpty)
        await second.close()
    }

    /// Approval steps stored before deadlines carry the old default (600000, never enforced):
    /// after the migration they wait until their run ends, as they did.
    @Test func storedApprovalsKeepWaitingAfterTheMigration() async throws {
        let directory = NSTemporaryDirectory() + "troupe-deadline-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let clock = ManualClock()
        let before = Migrator(Array(TroupeRuntime.migrations.migrations.prefix { $0.name != RunEngine.workflowTimeoutMigration.name }))
        let old = try await TroupeRuntime.open(path: path, clock: clock, migrator: before)
        try TodaysColumns.add(toDatabaseAt: path)
        // A run awaiting such an approval, as the server before stored it: no deadline row.
        let gate = WorkflowStep(id: "gate", needs: [], timeoutMilliseconds: 600_000, maxAttempts: 3, work: .approval(approvers: [.owner]))
        let record = WorkflowRecord(id: "wf_older", workspaceID: "ws_a", slug: "older", name: "Older", version: 1, steps: [gate], costCapUSD: nil,
                                    createdAt: clock.now, updatedAt: clock.now)
        let (storedRun, _) = try await start(old, record)
        await old.close()
        // As the server before wrote them: the approval with its filled-in default.
        let db = try Database(path: path)
        try db.execute("DELETE FROM due_work")
        let steps = #"[{"id":"gate","kind":"approval","needs":[],"timeout_ms":600000,"max_attempts":3,"approvers":["owner","admin"]}]"#
        try db.execute("INSERT INTO workflows (id, workspace_id, slug, version, created_at, updated_at) VALUES ('wf_old', 'ws_a', 'old', 1, 0, 0)")
        try db.execute("INSERT INTO workflow_versions (workflow_id, version, name, steps, cost_cap_usd, created_at) VALUES ('wf_old', 1, 'Old', ?, NULL, 0)",
                       [.blob(Array(steps.utf8))])
        db.close()

        let runtime = try await TroupeRuntime.open(path: path, clock: clock)
        let stored = try #require(try await runtime.workflows.workflow(workspaceID: "ws_a", idOrSlug: "old"))
        #expect(stored.steps.first?.timeoutMilliseconds == nil)
        let (id, _) = try await start(runtime, stored)
        #expect(try await dueRows(runtime).isEmpty)
        #expect(try await runtime.runs.state(of: storedRun, workspaceID: "ws_a")?.machine.definition.first?.timeoutMilliseconds == nil)
        clock.advance(by: .seconds(3_600))
        try await runtime.scheduler.fireDue()
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .awaitingApproval)
        #expect(try await runtime.runs.state(of: storedRun, workspaceID: "ws_a")?.machine.status == .awaitingApproval)
        await runtime.close()
    }
}
