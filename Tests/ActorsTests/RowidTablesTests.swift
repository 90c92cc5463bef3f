import Foundation
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct RowidTablesTests {
    /// The migrations before the hot tables became rowid tables (with the event log, which the
    /// runs of this test write to; steps are applied by name, so its place does not matter).
    private static let before = Migrator(
        SnapshotStore.migrations + WorkflowStore.migrations + JobStore.migrations + RunEngine.migrations + EventLog.migrations)

    /// A new directory for a database, removed by the caller.
    private func temporaryDirectory(_ prefix: String) throws -> String {
        let directory = NSTemporaryDirectory() + prefix + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A runtime on `path` migrated by `migrator` alone (a database from before), plus the
    /// snapshot column today's code writes, outside the list: a later rebuild drops it, and its
    /// own step adds it again and fills it from the runs' JSON.
    private func openBefore(_ path: String, clock: ManualClock, migrator: Migrator) async throws -> TroupeRuntime {
        let runtime = try await TroupeRuntime.open(path: path, clock: clock, migrator: migrator)
        let alter = try Database(path: path)
        defer { alter.close() }
        try alter.execute("ALTER TABLE snapshots ADD COLUMN workflow_id TEXT")
        try TodaysColumns.add(toDatabaseAt: path)
        return runtime
    }

    @Test func runsAndJobsStoredBeforeTheRebuildSurviveItAndKeepWorking() async throws {
        let directory = try temporaryDirectory("troupe-rowid-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let clock = ManualClock()

        let old = try await openBefore(path, clock: clock, migrator: Self.before)
        let workflow = try await WorkflowStore(store: old.store).create(
            id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: "ship", name: "Ship",
            steps: WorkflowTemplate.shipFromTicket.steps, costCapUSD: nil, at: clock.now)
        let runID = RandomID.make(prefix: "run")
        let state = RunState(workspace: "ws_a", workflow: workflow, ticket: "T-1", env: nil, input: [:], metadata: [:], dryRun: false,
                             createdBy: ["type": "user", "id": "usr_1"], at: clock.now)
        let (created, outcome) = try await old.runs.create(id: runID, state: state, activeRunCap: nil)
        let tenantID = try await old.createTenant(name: "Acme")
        await old.close()
        let firstJob = try #require(outcome.queuedJobs.first)

        let new = try await TroupeRuntime.open(path: path, clock: clock)
        let isRowid = try await new.store.reader.read { db in
            try db.query("SELECT count(*) FROM snapshots WHERE seq IS NOT NULL") { $0.int64(at: 0) }.first
        }
        #expect(isRowid == 2)
        #expect(try await new.runs.state(of: runID, workspaceID: "ws_a") == created)
        #expect(try await new.tenants.call(tenantID) { $0.name } == "Acme")

        // The moved job is claimed, completed and handed to its run, whose snapshot is updated
        // in place (one row per run, found by its key index).
        let jobs = JobStore(store: new.store)
        let claimed = try #require(try await jobs.claim(workspaceID: "ws_a", queues: [firstJob.queue], workerID: "w", token: "t",
                                                        lease: .seconds(30), at: clock.now))
        #expect(claimed.id == firstJob.id)
        let finished = try await jobs.update(workspaceID: "ws_a", id: firstJob.id, at: clock.now) { record throws(JobMachine.Refusal) in
            try record.machine.complete(token: "t", at: clock.now)
        }
        let next = try #require(try await new.runs.jobFinished(finished))
        #expect(next.queuedJobs.map(\.stepID) == ["dev"])
        let rows = try await new.store.reader.read { db in
            try db.query("SELECT count(*) FROM snapshots WHERE kind = 'run' AND id = ?", [.text(runID)]) { $0.int64(at: 0) }.first
        }
        #expect(rows == 1)
        await new.close()

        let reopened = try await TroupeRuntime.open(path: path, clock: clock)
        let steps = try await reopened.runs.state(of: runID, workspaceID: "ws_a")?.machine.steps.map(\.status)
        #expect(steps == [.succeeded, .running, .pending, .pending, .pending])
        await reopened.close()
    }

    /// Runs stored before their workflow was a column get it from their JSON at the migration,
    /// and a list by workflow (id or slug, a deleted workflow's included) reads the column's
    /// index instead of every snapshot's JSON.
    @Test func runsStoredBeforeTheWorkflowColumnAreListedByItThroughItsIndex() async throws {
        let directory = try temporaryDirectory("troupe-wfcol-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let clock = ManualClock()
        let steps = Array(TroupeRuntime.migrations.migrations.prefix { $0.name != RunEngine.workflowColumnMigration.name })
        let old = try await openBefore(path, clock: clock, migrator: Migrator(steps))
        let workflow = try await WorkflowStore(store: old.store).create(
            id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: "ship", name: "Ship",
            steps: WorkflowTemplate.shipFromTicket.steps, costCapUSD: nil, at: clock.now)
        var ids: [String] = []
        for _ in 0..<3 {
            let id = RandomID.make(prefix: "run")
            let state = RunState(workspace: "ws_a", workflow: workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                                 createdBy: ["type": "user", "id": "usr_1"], at: clock.now)
            _ = try await old.runs.create(id: id, state: state, activeRunCap: nil)
            ids.append(id)
        }
        await old.close()
        let drop = try Database(path: path)
        try drop.execute("ALTER TABLE snapshots DROP COLUMN workflow_id")  // as a database from before has it
        drop.close()

        let new = try await TroupeRuntime.open(path: path, clock: clock)
        let filled = try await new.store.reader.read { db in
            try db.query("SELECT workflow_id FROM snapshots WHERE kind = 'run'") { $0.string(at: 0) }
        }
        #expect(filled == Array(repeating: workflow.id, count: 3))
        var filter = RunListing.Filter()
        for name in [workflow.id, "ship"] {
            filter.workflow = name
            #expect(Set(try await RunListing(store: new.store).runs(workspaceID: "ws_a", filter: filter, after: nil, limit: 10).map(\.id)) == Set(ids))
        }
        filter.workflow = "other"
        #expect(try await RunListing(store: new.store).runs(workspaceID: "ws_a", filter: filter, after: nil, limit: 10).isEmpty)
        let plan = try await new.store.reader.read { db in
            try db.query("""
                EXPLAIN QUERY PLAN SELECT id FROM snapshots WHERE kind = 'run' AND workspace_id = 'ws_a' AND workflow_id IN (?)
                ORDER BY created_at DESC, id DESC LIMIT 10
                """, [.text(workflow.id)]) { $0.string(at: 3) ?? "" }
        }
        #expect(plan.contains { $0.contains("snapshots_by_workflow") }, "\(plan)")
        await new.close()
    }
}
