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
    private let timers = LockedBox([String: Task<Void, Never>]())

    init(context: ActorContext, configuration: ActorRegistry<RunActor>.Configuration = .init()) {
        self.context = context
        registry = ActorRegistry(context: context, configuration: configuration)
    }

    /// Stores and (unless a dry run) starts a new run; see ``RunActor/create(id:state:context:activeRunCap:)``.
    public func create(id: String, state: RunState, activeRunCap: Int?) async throws -> (RunState, RunActor.Outcome) {
        let (stored, outcome) = try await RunActor.create(id: id, state: state, context: context, activeRunCap: activeRunCap)
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
        let (failed, more) = try await apply(
            .stepFailed(stepID: stepID, code: "sandbox_unavailable", message: "sandbox steps cannot run on this server yet"), to: runID)
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

    /// Applies `event` to run `runID` and arms the timers it starts.
    public func apply(_ event: RunMachine.Event, to runID: String) async throws -> (RunState, RunActor.Outcome) {
        let (state, outcome) = try await registry.call(runID) { run in
            let outcome = try await run.apply(event)
            return (run.state, outcome)
        }
        follow(runID: runID, outcome.actions)
        return try await failSandboxSteps(of: runID, state, outcome)
    }

    /// Sets fields of run `runID`'s budget (failing it when its usage passes the new budget).
    public func setBudget(_ fields: JSONObject, of runID: String) async throws -> (RunState, RunActor.Outcome) {
        let (state, outcome) = try await registry.call(runID) { run in
            let outcome = try await run.setBudget(fields)
            return (run.state, outcome)
        }
        return (state, outcome)
    }

    /// Hands a finished job to its run (nothing for a standalone job or a run that is gone).
    @discardableResult
    public func jobFinished(_ job: JobRecord) async throws -> RunActor.Outcome? {
        guard let runID = job.runID, job.machine.status == .succeeded || job.machine.status == .dead else { return nil }
        do {
            let outcome = try await registry.call(runID) { try await $0.jobFinished(job) }
            follow(runID: runID, outcome.actions)
            return outcome
        } catch let error as ActorRuntimeError where error.code == .notFound {
            try await context.store.writer.submit { db in try JobStore.runNotifiedChange(id: job.id)(db) }
            return nil
        }
    }

    /// At start: arms the timers of every active run, and gives finished jobs not yet taken in
    /// to their runs. Returns how many of each.
    @discardableResult
    public func recover(jobs: JobStore) async throws -> (timers: Int, jobs: Int) {
        let active = try await context.store.reader.read { db in
            try db.query("SELECT id FROM snapshots WHERE kind = 'run' AND status IN ('running', 'awaiting_approval')") { $0.string(at: 0) ?? "" }
        }
        var armed = 0
        for runID in active {
            guard let timers = try? await registry.call(runID, { $0.state.machine.armedTimers }) else { continue }
            for timer in timers { arm(runID: runID, stepID: timer.stepID, at: timer.fireAt) }
            armed += timers.count
        }
        var handed = 0
        for job in try await jobs.unnotifiedRunJobs(limit: 10_000) where (try? await jobFinished(job)) != nil {
            handed += 1
        }
        return (armed, handed)
    }

    /// Cancels every armed timer (the runs keep them in their snapshots).
    public func stop() {
        let tasks = timers.withLock { timers in
            defer { timers = [:] }
            return Array(timers.values)
        }
        for task in tasks { task.cancel() }
    }

    /// Arms the timers `actions` start; a run that finished leaves memory at once.
    private func follow(runID: String, _ actions: [RunMachine.Action]) {
        for action in actions {
            switch action {
            case .startTimer(let stepID, let fireAt): arm(runID: runID, stepID: stepID, at: fireAt)
            case .finished: registry.passivate(runID)
            case .enqueueJob, .startSandbox, .stopWork: break
            }
        }
    }

    private func arm(runID: String, stepID: String, at fireAt: Timestamp) {
        let key = runID + "/" + stepID
        let task = Task { [context] in
            guard (try? await context.clock.sleep(until: fireAt)) != nil else { return }
            // A refusal means the step is no longer waiting (the run was cancelled): nothing to do.
            _ = try? await self.apply(.timerFired(stepID: stepID), to: runID)
            _ = self.timers.withLock { $0.removeValue(forKey: key) }
        }
        timers.withLock { $0[key] = task }
    }
}
