import TroupeCore
import TroupePersistence

/// Why a trigger started no run: the overlap policy held it back, or the workflow is gone.
public struct ScheduleRefusal: ExpectedActorError, Sendable, Equatable {
    public let message: String
}

/// One schedule: its settings and progress, one transition at a time (a fire, a release, a
/// trigger, a change by a person). Every transition commits the snapshot with the schedule's
/// `due_work` row moved to its next fire (``ScheduleService/armChange(id:_:)``); a transition
/// that starts a run commits them in the run's own transaction, so a fire time starts its run
/// exactly once across crashes.
public actor ScheduleActor: ManagedActor {
    public static let kind = "schedule"

    /// What a transition needs besides the schedule: runs to start and act on, workflows to
    /// look up.
    struct Dependencies: Sendable {
        let runs: RunService
        let workflows: WorkflowStore
    }

    public let id: String
    private let context: ActorContext
    public private(set) var state: ScheduleState
    private let transitions = SerialGate()

    public init(id: String, state: ScheduleState, context: ActorContext) {
        self.id = id
        self.state = state
        self.context = context
    }

    /// Applies `change` (a PATCH, a pause, an unpause, a deletion) and recomputes the next fire
    /// from now: fire times that passed meanwhile are never fired.
    func change(_ change: ScheduleService.Edit, origin: ChangeOrigin) async throws -> ScheduleState {
        await transitions.enter()
        defer { transitions.leave() }
        let now = context.clock.now
        var next = state
        switch change {
        case .update(let settings): next.settings = settings
        case .pause(let note):
            next.settings.paused = true
            if let note { next.settings.note = note }
        case .unpause: next.settings.paused = false
        case .delete: next.deleted = true
        }
        next.updatedAt = now
        if next.settings.paused || next.deleted { next.bufferedFireAt = nil }
        next.nextFireAt = next.settings.paused || next.deleted ? nil : next.settings.calendar?.next(after: now)
        try await commit(next, origin: origin)
        return next
    }

    /// Fires the due row `work`: the latest fire time now due (the others missed while the
    /// server was down count in `missed_catchup_window`, as does that one when it is older than
    /// the catch-up window), under the overlap policy.
    func fire(_ work: DueWork, _ dependencies: Dependencies) async throws {
        await transitions.enter()
        defer { transitions.leave() }
        guard !state.deleted, !state.settings.paused, let due = state.nextFireAt, let calendar = state.settings.calendar,
            ScheduleService.fireTime(of: work) == due
        else {
            // A row that does not match the schedule (it cannot, both commit together): put it right.
            try await commit(state, origin: .system)
            return
        }
        let now = context.clock.now
        var latest = due
        var missed: Int64 = 0
        while let later = calendar.next(after: latest), ScheduleService.dueAt(of: later, id: id, state.settings) <= now, missed < 10_000_000 {
            missed += 1
            latest = later
        }
        var next = state
        next.nextFireAt = calendar.next(after: latest)
        let window = Duration.seconds(state.settings.catchupWindowSeconds)
        if now - ScheduleService.dueAt(of: latest, id: id, state.settings) > window {
            next.counters.missedCatchupWindow = next.counters.missedCatchupWindow.saturatingAdding(missed.saturatingAdding(1))
            try await commit(next, origin: .system)
            return
        }
        next.counters.missedCatchupWindow = next.counters.missedCatchupWindow.saturatingAdding(missed)
        _ = try await start(next, scheduledAt: latest, policy: state.settings.overlapPolicy, held: .count, dependencies, origin: { _, _ in .system })
    }

    /// A run of this schedule finished: the fire `buffer_one` holds, if any, starts now.
    func release(_ work: DueWork, _ dependencies: Dependencies) async throws {
        await transitions.enter()
        defer { transitions.leave() }
        let unschedule: @Sendable (JournalTransaction) throws -> Void = { try $0.unschedule(kind: work.kind, key: work.key) }
        guard let buffered = state.bufferedFireAt, !state.deleted, try await !lastRunUnfinished(dependencies) else {
            try await commit(state, origin: .system, extra: unschedule)
            return
        }
        var next = state
        next.bufferedFireAt = nil
        _ = try await start(next, scheduledAt: buffered, policy: .allowAll, held: .count, dependencies, origin: { _, _ in .system },
                            extra: unschedule)
    }

    /// Starts a run now as a fire (`scheduled_at` now) under `policy`; throws
    /// ``ScheduleRefusal`` when the policy holds it back or the workflow is gone,
    /// ``RunCapReached`` at the cap. The schedule's next fire stays as it was.
    func trigger(policy: ScheduleState.OverlapPolicy, _ dependencies: Dependencies,
                 origin: @escaping @Sendable (String, RunState) -> ChangeOrigin) async throws -> (id: String, state: RunState) {
        await transitions.enter()
        defer { transitions.leave() }
        guard let started = try await start(state, scheduledAt: context.clock.now, policy: policy, held: .refuse, dependencies, origin: origin) else {
            throw ScheduleRefusal(message: "The schedule's run did not start.")
        }
        return started
    }

    /// How a fire held back (by the overlap policy, a gone workflow, the run cap) is recorded:
    /// counted in `info` (a fire), or refused without a change (a trigger).
    private enum Held { case count, refuse }

    /// Starts the run of a fire for `scheduledAt` with `next` as the schedule's new state, both
    /// in one transaction; or, when `policy` holds it back or the run cannot start, commits
    /// `next` with what happened counted. Nil when no run started.
    private func start(
        _ base: ScheduleState, scheduledAt: Timestamp, policy: ScheduleState.OverlapPolicy, held: Held, _ dependencies: Dependencies,
        origin: @escaping @Sendable (String, RunState) -> ChangeOrigin, extra: (@Sendable (JournalTransaction) throws -> Void)? = nil
    ) async throws -> (id: String, state: RunState)? {
        var next = base
        let workspace = base.workspace
        if policy != .allowAll, let lastRunID = base.lastRunID, try await lastRunUnfinished(dependencies) {
            switch policy {
            case .skip, .bufferOne:
                guard held == .count else {
                    throw ScheduleRefusal(message: "The schedule's previous run \(lastRunID) is unfinished and the overlap policy \(policy.rawValue) does not start another.")
                }
                if policy == .skip {
                    next.counters.overlapSkipped = next.counters.overlapSkipped.saturatingAdding(1)
                } else if next.bufferedFireAt == nil {
                    next.bufferedFireAt = scheduledAt
                } else {
                    next.counters.bufferDropped = next.counters.bufferDropped.saturatingAdding(1)
                }
                try await commit(next, origin: .system, extra: extra)
                return nil
            case .cancelOther:
                do {
                    _ = try await dependencies.runs.act(.cancel, on: lastRunID, in: workspace, origin: ScheduleService.origin(of: id, workspaceID: workspace,
                                                                                                                             event: "run.cancelled", runID: lastRunID))
                } catch is RunRefusal {
                    // It finished meanwhile.
                }
            case .allowAll:
                break
            }
        }
        guard let workflow = try await dependencies.workflows.workflow(workspaceID: workspace, idOrSlug: base.settings.workflowID) else {
            if held == .refuse { throw ScheduleRefusal(message: "The workflow \(base.settings.workflowSlug) no longer exists.") }
            next.failed("The workflow \(base.settings.workflowSlug) no longer exists.")
            try await commit(next, origin: .system, extra: extra)
            return nil
        }
        let runID = RandomID.make(prefix: "run")
        let now = context.clock.now
        var started = next
        started.started(runID: runID, scheduledAt: scheduledAt, at: now)
        let write = writes(started, at: now, extra: extra)
        let audit = ScheduleService.origin(of: id, workspaceID: workspace, event: "run.created", runID: runID).audit?.draft
        let settings = base.settings
        do {
            let run = try await dependencies.runs.start(
                StartRun(workflow: workflow, input: settings.input, metadata: settings.metadata, priority: settings.priority,
                         createdBy: ["type": "schedule", "id": .string(id)], schedule: (id, scheduledAt)),
                in: workspace, id: runID, origin: origin,
                alongside: { transaction in
                    try write(transaction)
                    if let audit { transaction.audit(audit) }
                })
            state = started
            return run
        } catch let cap as RunCapReached {
            if held == .refuse { throw cap }
            next.failed("The workspace has its plan's \(cap.cap) active runs.")
            try await commit(next, origin: .system, extra: extra)
            return nil
        }
    }

    private func lastRunUnfinished(_ dependencies: Dependencies) async throws -> Bool {
        guard let lastRunID = state.lastRunID, let run = try await dependencies.runs.state(of: lastRunID, in: state.workspace) else { return false }
        return !run.machine.status.isFinished
    }

    /// The snapshot and its fire row, and `extra`, as one transaction's writes.
    private func writes(_ next: ScheduleState, at now: Timestamp, extra: (@Sendable (JournalTransaction) throws -> Void)?)
        -> @Sendable (JournalTransaction) throws -> Void
    {
        let save = SnapshotStore.saveChange(next, kind: Self.kind, id: id, at: now)
        let arm = ScheduleService.armChange(id: id, next)
        return { transaction in
            try save(transaction.db)
            try arm(transaction)
            try extra?(transaction)
        }
    }

    private func commit(_ next: ScheduleState, origin: ChangeOrigin, extra: (@Sendable (JournalTransaction) throws -> Void)? = nil) async throws {
        let write = writes(next, at: context.clock.now, extra: extra)
        try await context.store.journal.commit(Change(origin) { transaction in try write(transaction) })
        state = next
    }
}
