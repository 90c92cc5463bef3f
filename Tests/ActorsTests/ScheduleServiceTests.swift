import Testing
import TroupeCore

@testable import TroupeActors

/// Schedules on a temporary database with the manual clock: each fire time starts one run,
/// with the schedule's fields, under the overlap policy, catch-up window, pause and caps.
@Suite(.timeLimit(.minutes(2)))
struct ScheduleServiceTests {
    private struct Fixture {
        let runtime: TroupeRuntime
        let clock: ManualClock
        let workspace: String
        let workflow: WorkflowRecord

        /// The schedule's runs, oldest first.
        func runs(of scheduleID: String) async throws -> [(id: String, state: RunState)] {
            var filter = RunListing.Filter()
            filter.scheduleID = scheduleID
            return try await RunListing(store: runtime.store).runs(workspaceID: workspace, filter: filter, after: nil, limit: 100).reversed()
        }

        func schedule(_ id: String) async throws -> ScheduleState {
            try #require(try await runtime.schedules.schedule(id, in: workspace))
        }

        func create(_ settings: ScheduleState.Settings) async throws -> String {
            try await runtime.schedules.create(settings, in: workspace, createdBy: ["type": "user", "id": "usr_1"], cap: 100) { _, _ in .system }.id
        }

        func every(_ seconds: Int64, _ policy: ScheduleState.OverlapPolicy = .skip) -> ScheduleState.Settings {
            ScheduleState.Settings(workflowID: workflow.id, workflowSlug: workflow.slug, cron: nil, everySeconds: seconds,
                                   input: ["from": "schedule"], metadata: ["team": "ops"], priority: 30, overlapPolicy: policy)
        }

        /// Moves the clock to `time` and fires what is due.
        func fire(at time: Timestamp) async throws {
            clock.advance(to: time)
            try await runtime.scheduler.fireDue()
        }
    }

    /// A workflow whose runs stay running until cancelled (a task no worker claims),
    /// so that overlap can be seen.
    private func fixture(settings: RuntimeSettings = RuntimeSettings()) async throws -> Fixture {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock, settings: settings)
        let workspace = try await runtime.createTenant(name: "Acme", plan: .starter)
        let steps = try WorkflowParser.parse(steps: JSON.parse(Array(#"[{"id":"work","kind":"task","queue":"q"}]"#.utf8))).get()
        let workflow = try await runtime.workflows.create(id: RandomID.make(prefix: "wf"), workspaceID: workspace, slug: "job", name: "Job",
                                                          steps: steps, costCapUSD: nil, at: clock.now)
        return Fixture(runtime: runtime, clock: clock, workspace: workspace, workflow: workflow)
    }

    private func time(_ text: String) throws -> Timestamp { try #require(Timestamp(rfc3339: text)) }

    @Test func aFireStartsOneRunWithTheSchedulesFieldsAndArmsTheNext() async throws {
        let f = try await fixture()
        let id = try await f.create(f.every(60, .allowAll))
        #expect(try await f.schedule(id).nextFireAt == (try time("2026-05-19T09:01:00Z")))
        try await f.fire(at: try time("2026-05-19T09:00:59Z"))
        #expect(try await f.runs(of: id).isEmpty, "not before its time")
        try await f.fire(at: try time("2026-05-19T09:01:00.300Z"))
        try await f.runtime.scheduler.fireDue()
        let runs = try await f.runs(of: id)
        #expect(runs.count == 1, "one run per fire time, however many passes")
        let run = try #require(runs.first?.state)
        #expect(run.scheduleID == id)
        #expect(run.scheduledAt == (try time("2026-05-19T09:01:00Z")))
        #expect(run.createdBy == ["type": "schedule", "id": .string(id)])
        #expect(run.input == ["from": "schedule"])
        #expect(run.metadata == ["team": "ops"])
        #expect(run.priority == 30)
        #expect(run.machine.status == .running)
        let schedule = try await f.schedule(id)
        #expect(schedule.counters.actionCount == 1)
        #expect(schedule.recentRuns.map(\.runID) == runs.map(\.id))
        #expect(schedule.nextFireAt == (try time("2026-05-19T09:02:00Z")))
        // The run's creation is in the audit chain with the schedule as its actor.
        let entries = try await f.runtime.store.audit.entries(workspaceID: f.workspace, filter: .init(), limit: 10)
        #expect(entries.contains { $0.event == "run.created" && $0.actor.type == "schedule" && $0.actor.id == id && $0.targetID == runs.first?.id })
        await f.runtime.close()
    }

    @Test func skipCountsAFireWhileThePreviousRunIsUnfinished() async throws {
        let f = try await fixture()
        let id = try await f.create(f.every(60, .skip))
        try await f.fire(at: try time("2026-05-19T09:01:00Z"))
        try await f.fire(at: try time("2026-05-19T09:02:00Z"))
        #expect(try await f.runs(of: id).count == 1)
        #expect(try await f.schedule(id).counters.overlapSkipped == 1)
        _ = try await f.runtime.runs.apply(.cancel, to: try #require(try await f.runs(of: id).first?.id))
        try await f.fire(at: try time("2026-05-19T09:03:00Z"))
        #expect(try await f.runs(of: id).count == 2, "a finished previous run lets the next fire start")
        await f.runtime.close()
    }

    @Test func bufferOneHoldsOneFireUntilThePreviousRunFinishes() async throws {
        let f = try await fixture()
        let id = try await f.create(f.every(60, .bufferOne))
        try await f.fire(at: try time("2026-05-19T09:01:00Z"))
        try await f.fire(at: try time("2026-05-19T09:02:00Z"))
        try await f.fire(at: try time("2026-05-19T09:03:00Z"))
        let held = try await f.schedule(id)
        #expect(held.bufferedFireAt == (try time("2026-05-19T09:02:00Z")))
        #expect(held.counters.bufferDropped == 1)
        #expect(try await f.runs(of: id).count == 1)
        f.clock.advance(by: .seconds(10))
        _ = try await f.runtime.runs.apply(.cancel, to: try #require(try await f.runs(of: id).first?.id))
        try await f.runtime.scheduler.fireDue()
        let runs = try await f.runs(of: id)
        #expect(runs.count == 2, "the held fire starts when the run finishes")
        #expect(runs.last?.state.scheduledAt == (try time("2026-05-19T09:02:00Z")))
        #expect(try await f.schedule(id).bufferedFireAt == nil)
        await f.runtime.close()
    }

    @Test func allowAllStartsEveryFireAndCancelOtherReplacesThePreviousRun() async throws {
        let f = try await fixture()
        let all = try await f.create(f.every(60, .allowAll))
        let cancelling = try await f.create(f.every(60, .cancelOther))
        try await f.fire(at: try time("2026-05-19T09:01:00Z"))
        try await f.fire(at: try time("2026-05-19T09:02:00Z"))
        #expect(try await f.runs(of: all).map(\.state.machine.status) == [.running, .running])
        let replaced = try await f.runs(of: cancelling)
        #expect(replaced.map(\.state.machine.status) == [.cancelled, .running])
        let cancelled = try await f.runtime.store.audit.entries(workspaceID: f.workspace, filter: .init(), limit: 50)
            .filter { $0.event == "run.cancelled" }
        #expect(cancelled.map(\.actor.id) == [cancelling], "the cancellation is the schedule's")
        await f.runtime.close()
    }

    /// Down from 09:01 to 09:05:30: one run for 09:05, the four before it missed. A schedule
    /// every 10 minutes down from 09:10 to 09:12: its one fire is older than the window, missed.
    @Test func afterDowntimeOnlyTheLatestFireRunsAndOnlyWithinTheCatchUpWindow() async throws {
        let f = try await fixture()
        var settings = f.every(60, .allowAll)
        settings.catchupWindowSeconds = 60
        let id = try await f.create(settings)
        settings.everySeconds = 600
        let slow = try await f.create(settings)
        try await f.fire(at: try time("2026-05-19T09:05:30Z"))
        #expect(try await f.runs(of: id).map(\.state.scheduledAt) == [try time("2026-05-19T09:05:00Z")])
        #expect(try await f.schedule(id).counters.missedCatchupWindow == 4)
        try await f.fire(at: try time("2026-05-19T09:12:00Z"))
        #expect(try await f.runs(of: slow).isEmpty)
        let missed = try await f.schedule(slow)
        #expect(missed.counters.missedCatchupWindow == 1)
        #expect(missed.nextFireAt == (try time("2026-05-19T09:20:00Z")))
        await f.runtime.close()
    }

    @Test func pausedFireTimesNeverFireAndUnpausingStartsFromNow() async throws {
        let f = try await fixture()
        let id = try await f.create(f.every(60, .allowAll))
        let paused = try #require(try await f.runtime.schedules.change(id, in: f.workspace, .pause(note: "maintenance"), origin: .system))
        #expect(paused.nextFireAt == nil)
        #expect(paused.settings.note == "maintenance")
        try await f.fire(at: try time("2026-05-19T09:10:00Z"))
        #expect(try await f.runs(of: id).isEmpty)
        let resumed = try #require(try await f.runtime.schedules.change(id, in: f.workspace, .unpause, origin: .system))
        #expect(resumed.nextFireAt == (try time("2026-05-19T09:11:00Z")))
        try await f.fire(at: try time("2026-05-19T09:11:00Z"))
        #expect(try await f.runs(of: id).count == 1)
        #expect(try await f.runtime.schedules.change(id, in: "ws_other", .delete, origin: .system) == nil, "another workspace's is absent")
        _ = try await f.runtime.schedules.change(id, in: f.workspace, .delete, origin: .system)
        #expect(try await f.runtime.schedules.schedule(id, in: f.workspace) == nil)
        try await f.fire(at: try time("2026-05-19T09:12:00Z"))
        #expect(try await f.runs(of: id).count == 1, "a deleted schedule fires no more; its runs stay")
        await f.runtime.close()
    }

    @Test func theActiveRunCapAndAGoneWorkflowCountAsFailedFiresAndTheNextGoesOn() async throws {
        var plans = PlanLimits.defaults
        plans[.starter]?.activeRuns = 1
        let f = try await fixture(settings: RuntimeSettings(plans: plans))
        let id = try await f.create(f.every(60, .allowAll))
        try await f.fire(at: try time("2026-05-19T09:01:00Z"))
        try await f.fire(at: try time("2026-05-19T09:02:00Z"))
        var schedule = try await f.schedule(id)
        #expect(schedule.counters.failedFires == 1)
        #expect(schedule.counters.lastError?.contains("1 active runs") == true)
        #expect(schedule.nextFireAt == (try time("2026-05-19T09:03:00Z")))
        try await f.runtime.workflows.delete(workspaceID: f.workspace, idOrSlug: f.workflow.id, at: f.clock.now)
        _ = try await f.runtime.runs.apply(.cancel, to: try #require(try await f.runs(of: id).first?.id))
        try await f.fire(at: try time("2026-05-19T09:03:00Z"))
        schedule = try await f.schedule(id)
        #expect(schedule.counters.failedFires == 2)
        #expect(schedule.counters.lastError?.contains("no longer exists") == true)
        #expect(try await f.runs(of: id).count == 1)
        await f.runtime.close()
    }

    @Test func thePlansCapCountsSchedulesNotDeletedOnes() async throws {
        let f = try await fixture()
        let create = { () async throws -> String in
            try await f.runtime.schedules.create(f.every(60), in: f.workspace, createdBy: .null, cap: 2) { _, _ in .system }.id
        }
        let first = try await create()
        _ = try await create()
        await #expect(throws: ScheduleCapReached(cap: 2)) { _ = try await create() }
        _ = try await f.runtime.schedules.change(first, in: f.workspace, .delete, origin: .system)
        _ = try await create()
        await f.runtime.close()
    }

    @Test func aTriggerStartsARunNowAndIsRefusedWhenItsPolicySkips() async throws {
        let f = try await fixture()
        let id = try await f.create(f.every(3600, .skip))
        let started = try #require(try await f.runtime.schedules.trigger(id, in: f.workspace, policy: nil) { _, _ in .system })
        #expect(started.state.scheduledAt == f.clock.now)
        #expect(started.state.createdBy == ["type": "schedule", "id": .string(id)])
        await #expect(throws: ScheduleRefusal.self) { _ = try await f.runtime.schedules.trigger(id, in: f.workspace, policy: nil) { _, _ in .system } }
        let again = try await f.runtime.schedules.trigger(id, in: f.workspace, policy: .allowAll) { _, _ in .system }
        #expect(again != nil, "the given policy, not the schedule's")
        let schedule = try await f.schedule(id)
        #expect(schedule.counters.actionCount == 2)
        #expect(schedule.nextFireAt == (try time("2026-05-19T10:00:00Z")), "a trigger leaves the calendar alone")
        await f.runtime.close()
    }

    @Test func jitterIsADeterministicOffsetWithinItsBound() throws {
        var settings = ScheduleState.Settings(workflowID: "wf", workflowSlug: "w", cron: nil, everySeconds: 60)
        settings.jitterMilliseconds = 5_000
        let fire = try time("2026-05-19T09:01:00Z")
        var offsets: Set<Int64> = []
        for minute in 0..<50 {
            let at = fire + .seconds(Int64(minute) * 60)
            let due = ScheduleService.dueAt(of: at, id: "sch_a", settings)
            #expect(due == ScheduleService.dueAt(of: at, id: "sch_a", settings))
            let offset = (due - at).nanoseconds / 1_000_000
            #expect((0...5_000).contains(offset))
            offsets.insert(offset)
        }
        #expect(offsets.count > 40, "spread over the range")
        settings.jitterMilliseconds = 0
        #expect(ScheduleService.dueAt(of: fire, id: "sch_a", settings) == fire)
    }
}
