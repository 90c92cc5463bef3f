import Foundation
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

/// `/v1/usage`'s workload figures come from daily roll-ups that the run's creation and the job's
/// completion write in their own transactions: exact per day and workflow, filled from what a
/// database held before they existed, and saturating.
@Suite(.timeLimit(.minutes(2)))
struct WorkloadUsageTests {
    private let day: Duration = .seconds(86_400)

    private struct Fixture {
        let runtime: TroupeRuntime
        let workflow: WorkflowRecord
        let directory: String
    }

    private func open(_ directory: String, clock: ManualClock, migrator: Migrator = TroupeRuntime.migrations,
                      slug: String? = "ship") async throws -> Fixture {
        let runtime = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock, migrator: migrator)
        try TodaysColumns.add(toDatabaseAt: directory + "/troupe.db")
        let store = WorkflowStore(store: runtime.store)
        let workflow: WorkflowRecord
        if let slug {
            workflow = try await store.create(id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: slug, name: "Ship",
                                              steps: WorkflowTemplate.shipFromTicket.steps, costCapUSD: nil, at: clock.now)
        } else {
            workflow = try #require(try await store.workflow(workspaceID: "ws_a", idOrSlug: "ship"))
        }
        return Fixture(runtime: runtime, workflow: workflow, directory: directory)
    }

    private func temporaryDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "troupe-usage-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Creates a run and completes its first job with `usage`; the job's id.
    @discardableResult
    private func runAndComplete(_ fixture: Fixture, clock: ManualClock, usage: JSON?, succeed: Bool = true) async throws -> String {
        let state = RunState(workspace: "ws_a", workflow: fixture.workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                             createdBy: ["type": "user", "id": "usr_1"], at: clock.now)
        let (_, outcome) = try await fixture.runtime.runs.create(id: RandomID.make(prefix: "run"), state: state, activeRunCap: nil)
        let job = try #require(outcome.queuedJobs.first)
        let jobs = JobStore(store: fixture.runtime.store)
        _ = try await jobs.claim(workspaceID: "ws_a", queues: [job.queue], workerID: "w", token: "t", lease: .seconds(30), at: clock.now)
        _ = try await jobs.update(workspaceID: "ws_a", id: job.id, at: clock.now) { record throws(JobMachine.Refusal) in
            if succeed {
                try record.machine.complete(token: "t", at: clock.now)
                record.usage = usage
            } else {
                _ = try record.machine.fail(token: "t", at: clock.now, error: .object(JSONObject()), retryable: false, jitter: 0)
            }
        }
        return job.id
    }

    @Test func runsAndCompletedJobsAreCountedOnTheirDayAndWorkflow() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let fixture = try await open(directory, clock: clock)
        defer { Task { await fixture.runtime.close() } }
        let first = UsageStore.day(clock.now)
        try await runAndComplete(fixture, clock: clock, usage: ["input_tokens": 10, "output_tokens": 5, "cost_usd": 0.25])
        try await runAndComplete(fixture, clock: clock, usage: nil, succeed: false)
        clock.advance(by: day)
        let second = UsageStore.day(clock.now)
        try await runAndComplete(fixture, clock: clock, usage: ["input_tokens": 1, "cost_usd": 1.5])
        let usage = WorkloadUsage(store: fixture.runtime.store)

        let one = try await usage.totals(workspaceID: "ws_a", from: first, to: first)
        #expect(one.runsCreated == 2 && one.jobsCompleted == 1, "a failed attempt completes nothing")
        #expect(one.inputTokens == 10 && one.outputTokens == 5 && one.costUSD == 0.25)
        #expect(one.byWorkflow == ["ship": WorkloadUsage.WorkflowTotals(runs: 2, costUSD: 0.25)])
        let both = try await usage.totals(workspaceID: "ws_a", from: first, to: second)
        #expect(both.runsCreated == 3 && both.jobsCompleted == 2 && both.inputTokens == 11 && both.costUSD == 1.75)
        #expect(try await usage.totals(workspaceID: "ws_b", from: first, to: second) == WorkloadUsage.Totals())
        let rows = try await fixture.runtime.store.reader.read { db in
            try db.query("SELECT count(*) FROM usage_workload_daily") { $0.int64(at: 0) }.first
        }
        #expect(rows == 2, "a row per workspace, day and workflow")
    }

    @Test func aDatabaseFromBeforeTheRollUpsHasThemFilledFromItsRunsAndJobs() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        // With the durable clock's table, which today's job writes use (a new table: its place
        // in the list does not matter).
        let before = Migrator(Array(TroupeRuntime.migrations.migrations.prefix { $0.name != WorkloadUsage.rollUpMigration.name }) + [DueWork.migration])
        let old = try await open(directory, clock: clock, migrator: before)
        try await runAndComplete(old, clock: clock, usage: ["input_tokens": 7, "output_tokens": 3, "cost_usd": 0.5])
        clock.advance(by: day)
        try await runAndComplete(old, clock: clock, usage: ["output_tokens": 2])
        try await runAndComplete(old, clock: clock, usage: nil, succeed: false)
        await old.runtime.close()

        let new = try await open(directory, clock: clock, slug: nil)
        defer { Task { await new.runtime.close() } }
        let from = UsageStore.day(clock.now + (.zero - day))
        let totals = try await WorkloadUsage(store: new.runtime.store).totals(workspaceID: "ws_a", from: from, to: UsageStore.day(clock.now))
        #expect(totals.runsCreated == 3 && totals.jobsCompleted == 2)
        #expect(totals.inputTokens == 7 && totals.outputTokens == 5 && totals.costUSD == 0.5)
        #expect(totals.byWorkflow == ["ship": WorkloadUsage.WorkflowTotals(runs: 3, costUSD: 0.5)])
        // And the triggers count what comes after.
        try await runAndComplete(new, clock: clock, usage: ["input_tokens": 1])
        let after = try await WorkloadUsage(store: new.runtime.store).totals(workspaceID: "ws_a", from: from, to: UsageStore.day(clock.now))
        #expect(after.runsCreated == 4 && after.jobsCompleted == 3 && after.inputTokens == 8)
    }

    @Test func tokenSumsSaturateRatherThanWrap() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let fixture = try await open(directory, clock: clock)
        defer { Task { await fixture.runtime.close() } }
        try await runAndComplete(fixture, clock: clock, usage: ["input_tokens": 1])
        try await fixture.runtime.store.journal.commit(.system) { db in
            try db.execute("UPDATE usage_workload_daily SET input_tokens = ?", [.integer(Int64.max - 1)])
        }
        try await runAndComplete(fixture, clock: clock, usage: ["input_tokens": 1_000_000_000_000])
        let today = UsageStore.day(clock.now)
        let totals = try await WorkloadUsage(store: fixture.runtime.store).totals(workspaceID: "ws_a", from: today, to: today)
        #expect(totals.inputTokens == Int64.max)
        #expect(totals.jobsCompleted == 2)
    }
}
