import TroupeCore
import TroupePersistence

/// Runs of every workspace: their registry, the durable timers of their `wait` steps, the
/// commands of their `sandbox` steps (``SandboxStepRunner``), and the hand-over of finished jobs
/// to their runs.
///
/// Timers live in the run snapshots (a running `wait` step and its start); the engine arms one
/// task per timer when a step starts and, through ``recover()``, for every active run at start,
/// so after downtime each overdue timer fires once. ``recover()`` also starts the next attempt of
/// every sandbox step a stopped server left running, and gives every finished job whose run did
/// not take it in (a crash between the two commits) to its run again.
///
/// A timer that cannot fire, or a job that cannot be handed over, because the database refused
/// (full disk, overload) is reported (``BackgroundFailures``) and retried with back-off until it
/// succeeds or the engine stops — never left until the next start. One that can never succeed
/// (its run's snapshot does not decode) is set aside instead.
public final class RunEngine: Sendable {
    /// Runs listed by status without reading every run of the workspace.
    public static let migrations = [
        Migration("runs-1", sql: """
            CREATE INDEX snapshots_by_status ON snapshots (kind, workspace_id, status, created_at, id);
            """),
    ]

    /// A run's workflow as a column with an index, for `GET /v1/runs?workflow=` (it read every
    /// snapshot's JSON until a page matched). Runs stored before it get theirs from their JSON
    /// (one pass at the migration; a run whose JSON does not read keeps none and is listed only
    /// without the filter).
    public static let workflowColumnMigration = Migration("runs-2 workflow column", sql: """
        ALTER TABLE snapshots ADD COLUMN workflow_id TEXT;
        UPDATE snapshots SET workflow_id = CASE WHEN json_valid(CAST(state AS TEXT)) THEN json_extract(CAST(state AS TEXT), '$.workflow_id') END
            WHERE kind = 'run';
        CREATE INDEX snapshots_by_workflow ON snapshots (kind, workspace_id, workflow_id, created_at, id);
        """)

    public let registry: ActorRegistry<RunActor>
    let context: ActorContext
    /// Hand-overs being retried, each under a generation of its own.
    private struct Timers {
        var nextGeneration = 0
        /// Hand-overs being retried, by generation.
        var retrying: [Int: Task<Void, Never>] = [:]
        var stopped = false
    }

    private let timers = LockedBox(Timers())
    private let failures: BackgroundFailures
    private let sandboxSteps: SandboxStepRunner

    /// `sandboxCap`: a workspace's plan's sandbox cap, which its runs' sandbox steps share.
    init(context: ActorContext, failures: BackgroundFailures, sandboxes: SandboxEngine,
         sandboxCap: @escaping @Sendable (String) async throws -> Int?, configuration: ActorRegistry<RunActor>.Configuration = .init()) {
        self.context = context
        self.failures = failures
        sandboxSteps = SandboxStepRunner(sandboxes: sandboxes, cap: sandboxCap, failures: failures, setAside: context.store.setAside)
        registry = ActorRegistry(context: context, configuration: configuration)
    }

    /// Stores and (unless a dry run) starts a new run; see ``RunActor/create(id:state:context:activeRunCap:origin:alongside:)``.
    public func create(
        id: String, state: RunState, activeRunCap: Int?, origin: ChangeOrigin = .system,
        alongside: (@Sendable (JournalTransaction) throws -> Void)? = nil
    ) async throws -> (RunState, RunActor.Outcome) {
        let (stored, outcome) = try await RunActor.create(id: id, state: state, context: context, activeRunCap: activeRunCap, origin: origin,
                                                          alongside: alongside)
        follow(runID: id, stored, outcome.actions)
        return (stored, outcome)
    }

    /// The run's state, when it exists and belongs to `workspaceID` (else nil: another
    /// workspace's run is as absent as an unknown one).
    public func state(of runID: String, workspaceID: String) async throws -> RunState? {
        guard try await mayActivate(runID, for: workspaceID) else { return nil }
        do {
            let state = try await registry.call(runID) { $0.state }
            return state.workspace == workspaceID ? state : nil
        } catch let error as ActorRuntimeError where error.code == .notFound {
            return nil
        }
    }

    /// The run rendered by `render` (cached by its actor until it changes, ``RunActor/rendered(by:)``),
    /// when it exists and belongs to `workspaceID`; else nil.
    public func rendered(of runID: String, workspaceID: String, by render: @escaping @Sendable (String, RunState) -> [UInt8]) async throws -> [UInt8]? {
        guard try await mayActivate(runID, for: workspaceID) else { return nil }
        do {
            return try await registry.call(runID) { run in run.state.workspace == workspaceID ? run.rendered(by: render) : nil }
        } catch let error as ActorRuntimeError where error.code == .notFound {
            return nil
        }
    }

    /// Whether run `runID` may be looked at for `workspaceID`: a resident one (its actor then
    /// checks the workspace), or one whose row is the workspace's. An id of another workspace,
    /// or none at all, is answered without waking any actor (no activation, no memory, no
    /// timing to tell them apart).
    private func mayActivate(_ runID: String, for workspaceID: String) async throws -> Bool {
        if registry.isResident(runID) { return true }
        return try await context.store.reader.readStatement { db in
            try db.scalar("SELECT 1 FROM snapshots WHERE kind = ? AND id = ? AND workspace_id = ?", [.text(RunActor.kind), .text(runID), .text(workspaceID)]) != nil
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
        if let workspaceID, try await !mayActivate(runID, for: workspaceID) { return nil }
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
        follow(runID: runID, state, outcome.actions)
        return (state, outcome)
    }

    /// Hands a finished job to its run (nothing for a standalone job or a run that is gone).
    @discardableResult
    public func jobFinished(_ job: JobRecord, origin: ChangeOrigin = .system) async throws -> RunActor.Outcome? {
        guard let runID = job.runID, job.machine.status == .succeeded || job.machine.status == .dead else { return nil }
        do {
            let (state, outcome) = try await registry.call(runID) { run in
                let outcome = try await run.jobFinished(job, origin: origin)
                return (run.state, outcome)
            }
            follow(runID: runID, state, outcome.actions)
            return outcome
        } catch let error as ActorRuntimeError where error.code == .notFound {
            try await context.store.journal.commit(origin, JobStore.runNotifiedChange(id: job.id))
            return nil
        }
    }

    /// A worker's change to job `id` (`change`: complete, or fail). When it ends a run's job
    /// (`succeeded`, or `dead`), the job's write and its run's next step commit in one
    /// transaction, one commit instead of two; else (a standalone job, a failure to be retried)
    /// the job is written alone. A run that cannot take the job now (corrupt, quarantined, the
    /// database refusing) gets it the other way: the job written, then handed over with
    /// retries. Throws ``JobStoreError`` (404, or 409 for the machine's refusal) or
    /// ``JobFinishConflict`` (409: the job changed between its read and the commit).
    public func finishJob(
        workspaceID: String, id: String, at now: Timestamp, jobs: JobStore, origin: ChangeOrigin = .system,
        _ change: @escaping @Sendable (inout JobRecord) throws(JobMachine.Refusal) -> Void
    ) async throws -> JobRecord {
        guard let read = try await jobs.job(workspaceID: workspaceID, id: id) else {
            throw JobStoreError(code: .notFound, message: "Job \(id) was not found.")
        }
        var updated = read
        do throws(JobMachine.Refusal) {
            try change(&updated)
        } catch {
            throw JobStoreError(code: .conflict, message: error.message)
        }
        updated.updatedAt = now
        guard let runID = read.runID, updated.machine.status == .succeeded || updated.machine.status == .dead else {
            return try await jobs.update(workspaceID: workspaceID, id: id, at: now, origin: origin, change)
        }
        let finished = updated
        do {
            let (state, outcome) = try await registry.call(runID) { run in
                let outcome = try await run.finish(finished, read: read, origin: origin)
                return (run.state, outcome)
            }
            follow(runID: runID, state, outcome.actions)
            return finished
        } catch is ActorRuntimeError {
            // Nothing of the run's transaction committed: write the job alone, then hand it over.
            let job = try await jobs.update(workspaceID: workspaceID, id: id, at: now, origin: origin, change)
            await handOver(job, origin: origin)
            return job
        }
    }

    /// Gives a finished job to its run, now if it can; if that fails it is reported and retried
    /// in the background with back-off (the job's outcome is committed already: the run will
    /// take it in). A run that can never take it (its snapshot does not decode) sets it aside.
    public func handOver(_ job: JobRecord, origin: ChangeOrigin = .system) async {
        if await attemptHandOver(job, origin: origin) == nil { retryInBackground(job, origin: origin) }
    }

    /// One attempt: whether a run took the job in (false: no run to take it, or it was set
    /// aside for good), or nil when it failed in a way a later attempt may not (reported).
    private func attemptHandOver(_ job: JobRecord, origin: ChangeOrigin) async -> Bool? {
        do {
            return try await jobFinished(job, origin: origin) != nil
        } catch {
            guard Self.isTransient(error) else {
                context.store.setAside.record(kind: "job_handover", id: job.id, reason: "its run \(job.runID ?? "") cannot take it in: \(error)")
                return false
            }
            failures.record("job_handover", error)
            return nil
        }
    }

    private func retryInBackground(_ job: JobRecord, origin: ChangeOrigin) {
        timers.withLock { timers in
            guard !timers.stopped else { return }
            let generation = timers.nextGeneration
            timers.nextGeneration += 1
            timers.retrying[generation] = Task {
                defer { _ = self.timers.withLock { $0.retrying.removeValue(forKey: generation) } }
                var backoff = Backoff()
                repeat {
                    do { try await Task.sleep(for: backoff.failed()) } catch { return }  // the engine stops
                } while await self.attemptHandOver(job, origin: origin) == nil
            }
        }
    }

    /// Whether trying again later may succeed: anything but a run whose state cannot be read.
    private static func isTransient(_ error: any Error) -> Bool {
        (error as? ActorRuntimeError)?.code != .corruptSnapshot
    }

    /// At start: goes on with the sandbox steps a stopped server left running (their old
    /// sandboxes ended, each starting its next attempt, or failing when that was its last), and
    /// gives finished jobs not yet taken in to their runs. Returns how many sandbox steps and
    /// jobs. (`wait` steps need nothing here: their ends are `due_work` rows, which the
    /// ``Scheduler`` fires when due, overdue ones at once.) A run snapshot that does not decode,
    /// or a job its run cannot take in, is set aside (``SetAsideRecords``) and the rest goes on:
    /// one poisoned row never stops a start.
    @discardableResult
    public func recover(jobs: JobStore) async throws -> (sandboxSteps: Int, jobs: Int) {
        // Read from the snapshots, not by activating every active run: only runs whose
        // definition has a sandbox step can need one, and none need be resident for it.
        let active = try await context.store.reader.read { db in
            try db.query("""
                SELECT id, state, schema_version FROM snapshots WHERE kind = 'run' AND status IN ('running', 'awaiting_approval')
                AND instr(CAST(state AS TEXT), '"kind":"sandbox"') > 0
                """) { ($0.string(at: 0) ?? "", $0.blob(at: 1) ?? [], Int($0.int64(at: 2))) }
        }
        await sandboxSteps.sandboxes.endRunSandboxes()
        var restarted = 0
        for (runID, blob, version) in active {
            let state: RunState
            do {
                state = try RunState(decoding: try JSON.parse(blob), schemaVersion: version)
            } catch {
                context.store.setAside.record(kind: RunActor.kind, id: runID, reason: "its snapshot does not decode: \(error)")
                continue
            }
            for (step, progress) in zip(state.machine.definition, state.machine.steps) where step.kind == .sandbox && progress.status == .running {
                startSandboxStep(step.id, of: runID, state)
                restarted += 1
            }
        }
        var handed = 0
        for job in try await jobs.unnotifiedRunJobs(limit: 10_000) {
            switch await attemptHandOver(job, origin: .system) {
            case true?: handed += 1
            case false?: break
            case nil: retryInBackground(job, origin: .system)
            }
        }
        return (restarted, handed)
    }

    /// Cancels every hand-over being retried (the next start hands those jobs over again) and
    /// the sandbox steps' drivers.
    public func stop() {
        stopSandboxSteps()
        let tasks = timers.withLock { timers in
            defer {
                timers.retrying = [:]
                timers.stopped = true
            }
            return Array(timers.retrying.values)
        }
        for task in tasks { task.cancel() }
    }

    /// The server stops: sandbox steps report nothing more, so that their commands, stopped
    /// with the server, do not fail them; the next start goes on with them.
    public func stopSandboxSteps() {
        sandboxSteps.stopAll()
    }

    /// Starts the sandbox steps `actions` start, stops those they stop; a run that finished
    /// leaves memory at once. (A wait's end is a `due_work` row its transition wrote.)
    private func follow(runID: String, _ state: RunState, _ actions: [RunMachine.Action]) {
        for action in actions {
            switch action {
            case .startSandbox(let stepID): startSandboxStep(stepID, of: runID, state)
            case .stopWork(let stepID): sandboxSteps.stop(runID: runID, stepID: stepID)
            case .finished: registry.passivate(runID)
            case .enqueueJob, .startTimer: break
            }
        }
    }

    private func startSandboxStep(_ stepID: String, of runID: String, _ state: RunState) {
        guard let index = state.machine.definition.firstIndex(where: { $0.id == stepID }),
              case .sandbox(let argv, let limits) = state.machine.definition[index].work else { return }
        let step = state.machine.definition[index]
        sandboxSteps.start(SandboxStepRunner.Step(
            runID: runID, workspaceID: state.workspace, definition: step, argv: argv,
            limits: .forStep(limits, timeoutMilliseconds: step.attemptTimeoutMilliseconds), attempts: state.machine.steps[index].attempts), engine: self)
    }

    /// The kind of the `due_work` rows that end `wait` steps (key `<run>/<step>`).
    static let waitKind = "run.wait"

    /// Ends the `wait` step a due row names: its transition removes the row. A step no longer
    /// waiting (or a run that cannot be read, set aside) has its row removed alone.
    func fireWait(_ work: DueWork) async throws {
        let parts = work.key.split(separator: "/", maxSplits: 1).map(String.init)
        do {
            if parts.count == 2 {
                _ = try await apply(.timerFired(stepID: parts[1]), to: parts[0])
                return
            }
            context.store.setAside.record(kind: "timer", id: work.key, reason: "its key names no run and step")
        } catch is RunRefusal {
            // The step is no longer waiting (its run was cancelled or moved on): nothing to do.
        } catch let error as ActorRuntimeError where error.code == .notFound || error.code == .corruptSnapshot {
            context.store.setAside.record(kind: "timer", id: work.key, reason: "its run cannot take it: \(error)")
        }
        try await context.store.journal.commit(.system) { db in try DueWork.delete(kind: work.kind, key: work.key, on: db) }
    }

    /// The ends of the `wait` steps running in a database from before the durable clock, as
    /// `due_work` rows (a run that does not decode is left to be set aside when it is read).
    static let waitTimersMigration = Migration("due-2 wait timers") { db in
        let rows = try db.query("""
            SELECT id, state, schema_version, workspace_id FROM snapshots WHERE kind = 'run' AND status = 'running'
            AND instr(CAST(state AS TEXT), '"kind":"wait"') > 0
            """) { ($0.string(at: 0) ?? "", $0.blob(at: 1) ?? [], Int($0.int64(at: 2)), $0.string(at: 3) ?? "") }
        for (runID, blob, version, workspaceID) in rows {
            guard let state = try? RunState(decoding: try JSON.parse(blob), schemaVersion: version) else { continue }
            for timer in state.machine.armedTimers {
                try DueWork(kind: waitKind, key: runID + "/" + timer.stepID, workspaceID: workspaceID, dueAt: timer.fireAt).insert(on: db)
            }
        }
    }
}
