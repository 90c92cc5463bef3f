import TroupeCore
import TroupePersistence

/// Runs of every workspace: their registry, the durable timers of their `wait` steps, and the
/// hand-over of finished jobs to their runs.
///
/// Timers live in the run snapshots (a running `wait` step and its start); the engine arms one
/// task per timer when a step starts and, through ``recover()``, for every active run at start,
/// so after downtime each overdue timer fires once. ``recover()`` also gives every finished job
/// whose run did not take it in (a crash between the two commits) to its run again.
public final class RunEngine: Sendable {
    /// Runs listed by status without reading every run of the workspace.
    public static let migrations = [
        Migration("runs-1", sql: """
            CREATE INDEX snapshots_by_status ON snapshots (kind, workspace_id, status, created_at, id);
            """),
    ]

    public let registry: ActorRegistry<RunActor>
    private let context: ActorContext
    /// The armed timer of each `run/step`, with a generation so that a timer replaced or
    /// disarmed never removes its successor.
    private struct Timers {
        var armed: [String: (generation: Int, task: Task<Void, Never>)] = [:]
        var nextGeneration = 0
    }

    private let timers = LockedBox(Timers())

    init(context: ActorContext, configuration: ActorRegistry<RunActor>.Configuration = .init()) {
        self.context = context
        registry = ActorRegistry(context: context, configuration: configuration)
    }

    /// Stores and (unless a dry run) starts a new run; see ``RunActor/create(id:state:context:activeRunCap:)``.
    public func create(id: String, state: RunState, activeRunCap: Int?, origin: ChangeOrigin = .system) async throws -> (RunState, RunActor.Outcome) {
        let (stored, outcome) = try await RunActor.create(id: id, state: state, context: context, activeRunCap: activeRunCap, origin: origin)
        follow(runID: id, outcome.actions)
        return try await failSandboxSteps(of: id, stored, outcome)
    }

    /// Sandbox steps need the sandbox runtime, which this server does not have yet: each one
    /// that starts fails at once (failing its run) rather than leave the run waiting for ever.
    private func failSandboxSteps(of runID: String, _ state: RunState, _ outcome: RunActor.Outcome) async throws -> (RunState, RunActor.Outcome) {
        // The first such step fails the run, which stops the others.
        guard let stepID = outcome.actions.lazy.compactMap({ action -> String? in
            if case .startSandbox(let stepID) = action { stepID } else { nil }
        }).first else { return (state, outcome) }
        guard let (failed, more) = try await apply(
            .stepFailed(stepID: stepID, code: "sandbox_unavailable", message: "sandbox steps cannot run on this server yet"), to: runID)
        else { return (state, outcome) }
        return (failed, RunActor.Outcome(actions: outcome.actions + more.actions, queuedJobs: outcome.queuedJobs + more.queuedJobs))
    }

    /// The run's state, when it exists and belongs to `workspaceID` (else nil: another
    /// workspace's run is as absent as an unknown one).
    public func state(of runID: String, workspaceID: String) async throws -> RunState? {
        do {
            let state = try await registry.call(runID) { $0.state }
            return state.workspace == workspaceID ? state : nil
        } catch let error as ActorRuntimeError where error.code == .notFound {
            return nil
        }
    }

    /// Applies `event` to run `runID` and arms the timers it starts. With `workspaceID`, a run of
    /// another workspace is left alone and answered nil, as an unknown one is.
    public func apply(
        _ event: RunMachine.Event, to runID: String, in workspaceID: String? = nil, origin: ChangeOrigin = .system
    ) async throws -> (RunState, RunActor.Outcome)? {
        try await perform(on: runID, in: workspaceID) { try await $0.apply(event, origin: origin) }
    }

    /// Sets fields of run `runID`'s budget (failing it when its usage passes the new budget).
    public func setBudget(
        _ fields: JSONObject, of runID: String, in workspaceID: String? = nil, origin: ChangeOrigin = .system
    ) async throws -> (RunState, RunActor.Outcome)? {
        try await perform(on: runID, in: workspaceID) { try await $0.setBudget(fields, origin: origin) }
    }

    /// Runs `change` on the run (after checking its workspace in the same call), then follows
    /// the actions it produced.
    private func perform(
        on runID: String, in workspaceID: String?, _ change: @Sendable (isolated RunActor) async throws -> RunActor.Outcome
    ) async throws -> (RunState, RunActor.Outcome)? {
        let result: (RunState, RunActor.Outcome)?
        do {
            result = try await registry.call(runID) { run in
                if let workspaceID, run.state.workspace != workspaceID { return nil }
                let outcome = try await change(run)
                return (run.state, outcome)
            }
        } catch let error as ActorRuntimeError where error.code == .notFound && workspaceID != nil {
            return nil
        }
        guard let (state, outcome) = result else { return nil }
        follow(runID: runID, outcome.actions)
        return try await failSandboxSteps(of: runID, state, outcome)
    }

    /// Hands a finished job to its run (nothing for a standalone job or a run that is gone).
    @discardableResult
    public func jobFinished(_ job: JobRecord, origin: ChangeOrigin = .system) async throws -> RunActor.Outcome? {
        guard let runID = job.runID, job.machine.status == .succeeded || job.machine.status == .dead else { return nil }
        do {
            let outcome = try await registry.call(runID) { try await $0.jobFinished(job, origin: origin) }
            follow(runID: runID, outcome.actions)
            return outcome
        } catch let error as ActorRuntimeError where error.code == .notFound {
            try await context.store.journal.commit(origin, JobStore.runNotifiedChange(id: job.id))
            return nil
        }
    }

    /// At start: arms the timers of every active run, and gives finished jobs not yet taken in
    /// to their runs. Returns how many of each. A run snapshot that does not decode, or a job
    /// its run cannot take in, is set aside (``SetAsideRecords``) and the rest goes on: one
    /// poisoned row never stops a start.
    @discardableResult
    public func recover(jobs: JobStore) async throws -> (timers: Int, jobs: Int) {
        // Read from the snapshots, not by activating every active run: only runs whose
        // definition has a wait step can hold a timer, and none need be resident for it.
        let waiting = try await context.store.reader.read { db in
            try db.query("""
                SELECT id, state, schema_version FROM snapshots WHERE kind = 'run' AND status IN ('running', 'awaiting_approval')
                AND instr(CAST(state AS TEXT), '"kind":"wait"') > 0
                """) { ($0.string(at: 0) ?? "", $0.blob(at: 1) ?? [], Int($0.int64(at: 2))) }
        }
        var armed = 0
        for (runID, blob, version) in waiting {
            let state: RunState
            do {
                state = try RunState(decoding: try JSON.parse(blob), schemaVersion: version)
            } catch {
                context.store.setAside.record(kind: RunActor.kind, id: runID, reason: "its snapshot does not decode: \(error)")
                continue
            }
            for timer in state.machine.armedTimers { arm(runID: runID, stepID: timer.stepID, at: timer.fireAt) }
            armed += state.machine.armedTimers.count
        }
        var handed = 0
        for job in try await jobs.unnotifiedRunJobs(limit: 10_000) {
            do {
                if try await jobFinished(job) != nil { handed += 1 }
            } catch {
                context.store.setAside.record(kind: "job_handover", id: job.id, reason: "its run \(job.runID ?? "") cannot take it in: \(error)")
            }
        }
        return (armed, handed)
    }

    /// Cancels every armed timer (the runs keep them in their snapshots).
    public func stop() {
        let tasks = timers.withLock { timers in
            defer { timers.armed = [:] }
            return timers.armed.values.map(\.task)
        }
        for task in tasks { task.cancel() }
    }

    /// Arms the timers `actions` start; a run that finished leaves memory at once.
    private func follow(runID: String, _ actions: [RunMachine.Action]) {
        for action in actions {
            switch action {
            case .startTimer(let stepID, let fireAt): arm(runID: runID, stepID: stepID, at: fireAt)
            case .stopWork(let stepID): disarm(runID + "/" + stepID, generation: nil)
            case .finished: registry.passivate(runID)
            case .enqueueJob, .startSandbox: break
            }
        }
    }

    /// Arms the timer of `stepID`, replacing (and cancelling) one armed before: a cancelled then
    /// retried wait must not end at its first deadline.
    private func arm(runID: String, stepID: String, at fireAt: Timestamp) {
        let key = runID + "/" + stepID
        timers.withLock { timers in
            let generation = timers.nextGeneration
            timers.nextGeneration += 1
            let task = Task { [context] in
                // Fires only if still the armed timer of its step (not replaced or disarmed).
                guard (try? await context.clock.sleep(until: fireAt)) != nil, self.disarm(key, generation: generation) else { return }
                // A refusal means the step is no longer waiting: nothing to do.
                _ = try? await self.apply(.timerFired(stepID: stepID), to: runID)
            }
            timers.armed.updateValue((generation, task), forKey: key)?.task.cancel()
        }
    }

    /// Forgets the timer of `key` if it is still `generation` (nil: whichever, cancelling it);
    /// whether it did.
    @discardableResult
    private func disarm(_ key: String, generation: Int?) -> Bool {
        let removed = timers.withLock { timers -> Task<Void, Never>? in
            guard let armed = timers.armed[key], generation == nil || armed.generation == generation else { return nil }
            return timers.armed.removeValue(forKey: key)?.task
        }
        if generation == nil { removed?.cancel() }
        return removed != nil
    }
}
