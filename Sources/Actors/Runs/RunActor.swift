import TroupeCore
import TroupePersistence

/// Why a run event was refused: the machine's refusal, expected (not a fault).
public struct RunRefusal: ExpectedActorError, Sendable, Equatable {
    public let refusal: RunMachine.Refusal
}

/// One run: its ``RunMachine`` and the jobs of its task steps. Every transition decides and
/// mutates synchronously, then commits the snapshot together with the jobs it creates or
/// cancels in one transaction, and only then answers (the rule of transitions on ``Snapshot``).
public actor RunActor: ManagedActor {
    public static let kind = "run"

    /// What a transition did: the machine's actions and the jobs it queued (whose queues'
    /// waiting workers should be woken).
    public struct Outcome: Sendable {
        public let actions: [RunMachine.Action]
        public let queuedJobs: [JobRecord]
    }

    public let id: String
    private let context: ActorContext
    public private(set) var state: RunState {
        didSet { rendering = nil }
    }
    /// The API's rendering of ``state``, kept until the state changes (``rendered(by:)``).
    private var rendering: [UInt8]?
    /// One transition at a time, decided and committed: one that follows never builds on a state
    /// that may yet fail to commit, so a failed commit can put the state back as it was.
    private let transitions = SerialGate()

    public init(id: String, state: RunState, context: ActorContext) {
        self.id = id
        self.state = state
        self.context = context
    }

    /// Stores a new run and, unless it is a dry run, starts it, in one transaction with its first
    /// jobs. With `activeRunCap`, refuses (``RunCapReached``) when the workspace already has that
    /// many queued, running or awaiting runs — counted inside the transaction, so exactly. A dry
    /// run is never refused: it never runs. `alongside` writes in the same transaction (a
    /// schedule's progress, so that a fire and its run commit together).
    public static func create(
        id: String, state initial: RunState, context: ActorContext, activeRunCap: Int?, origin: ChangeOrigin = .system,
        alongside: (@Sendable (JournalTransaction) throws -> Void)? = nil
    ) async throws -> (RunState, Outcome) {
        var state = initial
        var actions: [RunMachine.Action] = []
        if !state.dryRun { actions = try apply(.start, to: &state, at: initial.createdAt) }
        let (changes, queued) = jobChanges(for: actions, of: &state, runID: id, context: context, at: initial.createdAt)
        let save = SnapshotStore.saveChange(state, kind: kind, id: id, at: initial.createdAt)
        let events = RunEvents.created(runID: id, state)
        let workspace = state.workspace
        let cap = state.dryRun ? nil : activeRunCap  // a dry run never becomes active
        let timers = RunDueWork.changes(from: nil, to: state, actions: actions, after: nil, runID: id, at: initial.createdAt)
        try await context.store.journal.commit(Change(origin) { transaction in
            let db = transaction.db
            if let activeRunCap = cap, try RunListing.activeCount(db, workspaceID: workspace) >= activeRunCap {
                throw RunCapReached(cap: activeRunCap)
            }
            try save(db)
            for change in changes { try change(db) }
            try timers(transaction)
            try alongside?(transaction)
            transaction.emit(events)
            for job in queued { JobStore.signalIfClaimable(job, at: job.createdAt, on: transaction) }
        })
        return (state, Outcome(actions: actions, queuedJobs: queued))
    }

    /// The run as `render` encodes it, encoded once per state: a run is read far more often
    /// than it changes. There is one rendering (the API's run object); `render` must not vary.
    public func rendered(by render: (String, RunState) -> [UInt8]) -> [UInt8] {
        if let rendering { return rendering }
        let bytes = render(id, state)
        rendering = bytes
        return bytes
    }

    /// Applies `event` and commits the result; throws ``RunRefusal`` when the machine refuses.
    public func apply(_ event: RunMachine.Event, origin: ChangeOrigin = .system) async throws -> Outcome {
        try await transition(event, finishing: nil, origin: origin)
    }

    /// A job of this run ended (`succeeded` or `dead`): its step succeeds or fails, unless the
    /// job is no longer the step's (the run was cancelled or retried meanwhile). Either way the
    /// job is marked as taken in, in the same transaction.
    public func jobFinished(_ job: JobRecord, origin: ChangeOrigin = .system) async throws -> Outcome {
        guard let event = stepEvent(for: job) else { return try await markOnly(job, origin: origin) }
        do {
            return try await transition(event, finishing: job, origin: origin)
        } catch is RunRefusal {
            return try await markOnly(job, origin: origin)
        }
    }

    /// A worker's completion or failure of this run's job `read`, making it `job` (`succeeded`
    /// or `dead`): the job's write and what it makes of the run commit in one transaction
    /// (``JobStore/finishedChange(_:read:setAside:)``), which ``JobFinishConflict`` refuses
    /// whole when the job changed since `read`. A job no longer its step's is written alone.
    public func finish(_ job: JobRecord, read: JobRecord, origin: ChangeOrigin = .system) async throws -> Outcome {
        let write = JobStore.finishedChange(job, read: read, setAside: context.store.setAside)
        let alone = { [context] () async throws -> Outcome in
            try await context.store.journal.commit(Change(origin) { transaction in try write(transaction) })
            return Outcome(actions: [], queuedJobs: [])
        }
        guard let event = stepEvent(for: job) else { return try await alone() }
        do {
            return try await transition(event, finishing: job, written: write, origin: origin)
        } catch is RunRefusal {
            return try await alone()
        }
    }

    /// What `job`'s end makes of its step; nil when it is not the step's current job, or has
    /// not ended.
    private func stepEvent(for job: JobRecord) -> RunMachine.Event? {
        guard let stepID = job.stepID, state.jobs[stepID] == job.id else { return nil }
        switch job.machine.status {
        case .succeeded:
            return .stepSucceeded(stepID: stepID, output: job.output)
        case .dead:
            let code = job.machine.lastError?["code"]?.stringValue ?? "job_failed"
            let message = job.machine.lastError?["message"]?.stringValue ?? "The job failed."
            return .stepFailed(stepID: stepID, code: code, message: message)
        case .queued, .leased, .cancelled:
            return nil
        }
    }

    private func markOnly(_ job: JobRecord, origin: ChangeOrigin) async throws -> Outcome {
        try await context.store.journal.commit(origin, JobStore.runNotifiedChange(id: job.id))
        return Outcome(actions: [], queuedJobs: [])
    }

    /// Sets the budget's given fields; a run already past the new budget fails at once.
    public func setBudget(_ fields: JSONObject, origin: ChangeOrigin = .system) async throws -> Outcome {
        try await transition(nil, finishing: nil, budget: fields, origin: origin)
    }

    /// `written`: the finished job's guarded write, first in the transaction (else a finished
    /// job is only marked taken in).
    private func transition(
        _ event: RunMachine.Event?, finishing job: JobRecord?, written: (@Sendable (JournalTransaction) throws -> Void)? = nil,
        budget: JSONObject? = nil, origin: ChangeOrigin
    ) async throws -> Outcome {
        await transitions.enter()
        defer { transitions.leave() }
        let now = context.clock.now
        var next = state
        var actions = try event.map { event throws(RunRefusal) in try Self.apply(event, to: &next, at: now) } ?? []
        if let job, let stepID = job.stepID, let index = next.machine.steps.firstIndex(where: { $0.id == stepID }) {
            next.machine.setAttempts(job.machine.attempts, ofStep: index)
            let usage = job.usage
            next.machine.addUsage(inputTokens: usage?["input_tokens"]?.intValue ?? 0, outputTokens: usage?["output_tokens"]?.intValue ?? 0,
                                  costUSD: usage?["cost_usd"]?.doubleValue ?? 0, toStep: index)
        }
        if let budget {
            var merged = next.budget.objectValue ?? JSONObject()
            for member in budget { merged[member.key] = member.value }
            next.budget = .object(merged)
            next.updatedAt = now
        }
        if let reason = next.budgetExceeded, next.machine.status == .running || next.machine.status == .awaitingApproval {
            actions += try Self.apply(.abort(code: "budget_exceeded", message: reason), to: &next, at: now)
        }
        let (jobWrites, queued) = Self.jobChanges(for: actions, of: &next, runID: id, context: context, at: now)
        let changes = jobWrites + (written == nil ? job.map { [JobStore.runNotifiedChange(id: $0.id)] } ?? [] : [])
        let save = SnapshotStore.saveChange(next, kind: Self.kind, id: id, at: now)
        let events = RunEvents.between(state, next, runID: id, by: event)
        // Decided and mutated before the await; a failed commit puts the state back (no later
        // transition has been decided meanwhile), and unless the failure was expected (a job
        // that changed meanwhile) the registry also brings the run back from its snapshot.
        let timers = RunDueWork.changes(from: state, to: next, actions: actions, after: event, runID: id, at: now)
        let previous = state
        state = next
        do {
            try await commit(save: save, changes: changes, written: written, timers: timers, events: events, queued: queued, at: now,
                             origin: origin)
        } catch {
            state = previous
            throw error
        }
        return Outcome(actions: actions, queuedJobs: queued)
    }

    private func commit(
        save: @escaping @Sendable (Database) throws -> Void, changes: [@Sendable (Database) throws -> Void],
        written: (@Sendable (JournalTransaction) throws -> Void)?, timers: @escaping @Sendable (JournalTransaction) throws -> Void,
        events: [EventDraft], queued: [JobRecord], at now: Timestamp, origin: ChangeOrigin
    ) async throws {
        try await context.store.journal.commit(Change(origin) { transaction in
            try written?(transaction)
            try save(transaction.db)
            for change in changes { try change(transaction.db) }
            try timers(transaction)
            transaction.emit(events)
            for job in queued { JobStore.signalIfClaimable(job, at: now, on: transaction) }
        })
    }

    private static func apply(_ event: RunMachine.Event, to state: inout RunState, at now: Timestamp) throws(RunRefusal) -> [RunMachine.Action] {
        do {
            let actions = try state.machine.apply(event, at: now)
            state.updatedAt = now
            return actions
        } catch {
            throw RunRefusal(refusal: error)
        }
    }

    /// The job writes `actions` call for: a new job per task step to run (recorded in `state`),
    /// a cancel per task step stopped.
    private static func jobChanges(
        for actions: [RunMachine.Action], of state: inout RunState, runID: String, context: ActorContext, at now: Timestamp
    ) -> ([@Sendable (Database) throws -> Void], [JobRecord]) {
        var changes: [@Sendable (Database) throws -> Void] = []
        var queued: [JobRecord] = []
        for action in actions {
            switch action {
            case .enqueueJob(let stepID):
                guard let step = state.machine.definition.first(where: { $0.id == stepID }), case .task(let queue, let input) = step.work else { continue }
                let job = JobRecord(id: RandomID.make(prefix: "job"), workspaceID: state.workspace, queue: queue, runID: runID, stepID: stepID,
                                    input: .object(input), maxAttempts: step.maxAttempts, timeoutMilliseconds: step.attemptTimeoutMilliseconds, at: now)
                state.jobs[stepID] = job.id
                changes.append(JobStore.insertChange(job))
                queued.append(job)
            case .stopWork(let stepID):
                if let jobID = state.jobs[stepID] { changes.append(JobStore.cancelChange(workspaceID: state.workspace, id: jobID, at: now, setAside: context.store.setAside)) }
            case .startSandbox, .startTimer, .finished:
                break
            }
        }
        return (changes, queued)
    }
}

/// A run was refused because the workspace has its plan's number of active runs.
public struct RunCapReached: Error, Sendable, Equatable {
    public let cap: Int
}
