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

    @Test func runsAndJobsStoredBeforeTheRebuildSurviveItAndKeepWorking() async throws {
        let directory = NSTemporaryDirectory() + "troupe-rowid-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let clock = ManualClock()

        let old = try await TroupeRuntime.open(path: path, clock: clock, migrator: Self.before)
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
}
