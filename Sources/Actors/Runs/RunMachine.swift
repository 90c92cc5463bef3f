import TroupeCore

/// The run and step state machines of API.md (Runs) as a value.
///
/// ``apply(_:at:)`` decides and mutates synchronously and returns what the run's actor must
/// then do (enqueue a job, arm a timer, stop work, report the end); a refused event throws a
/// ``Refusal`` and changes nothing. A step starts when every step it needs has succeeded, so
/// independent steps start together; a step that fails for good fails the run, stops what is
/// running and skips what had not started.
public struct RunMachine: Sendable, Equatable {
    public enum Event: Sendable, Equatable {
        case start
        /// A worker claimed the step's job, or its sandbox started: one more attempt.
        case attemptStarted(stepID: String)
        case stepSucceeded(stepID: String, output: JSON?)
        /// The step failed for good (its job is dead, its sandbox exited non-zero); `details` join
        /// `code` and `message` in the step's `error` (a sandbox's exit code, its stderr's tail).
        case stepFailed(stepID: String, code: String, message: String, details: JSONObject = JSONObject())
        case timerFired(stepID: String)
        case approve(role: Role, note: String?)
        case reject(role: Role, note: String?)
        case cancel
        case retry(fromStepID: String?)
        /// Fails a run that is still going for a reason outside its steps (a budget passed).
        case abort(code: String, message: String)
        /// An approval step still awaiting at its deadline: it fails, and the run with it
        /// (`approval_timeout`).
        case stepTimedOut(stepID: String)
        /// The run is unfinished at its `deadline_at` (`run_timeout`).
        case runTimedOut
    }

    public enum Action: Sendable, Equatable {
        case enqueueJob(stepID: String)
        case startSandbox(stepID: String)
        case startTimer(stepID: String, fireAt: Timestamp)
        /// Cancel the step's job, kill its sandbox or disarm its timer.
        case stopWork(stepID: String)
        case finished(RunStatus)
    }

    /// Why an event was refused: `conflict` (409), `forbidden` (403) or `invalid` (422).
    public struct Refusal: Error, Sendable, Equatable {
        public enum Code: Sendable { case conflict, forbidden, invalid }
        public let code: Code
        public let message: String
    }

    /// Why a run failed.
    public struct Failure: Sendable, Equatable {
        public let code: String
        public let message: String
        public let stepID: String?
    }

    public private(set) var status: RunStatus
    public private(set) var steps: [StepProgress]
    public private(set) var failure: Failure?
    public let definition: [WorkflowStep]

    /// A new run of `definition`: `queued`, or `planned` for a dry run.
    public init(definition: [WorkflowStep], dryRun: Bool = false) {
        self.definition = definition
        status = dryRun ? .planned : .queued
        steps = definition.map { StepProgress(id: $0.id, kind: $0.kind) }
        failure = nil
    }

    /// A run as its snapshot stored it.
    public init(definition: [WorkflowStep], status: RunStatus, steps: [StepProgress], failure: Failure?) {
        self.definition = definition
        self.status = status
        self.steps = steps
        self.failure = failure
    }

    /// The timers a restored run must arm again: every running `wait` step, at its end.
    public var armedTimers: [(stepID: String, fireAt: Timestamp)] {
        zip(definition, steps).compactMap { step, progress in
            guard progress.status == .running, case .wait(let duration) = step.work, let started = progress.startedAt else { return nil }
            return (step.id, started + .milliseconds(duration))
        }
    }

    public mutating func apply(_ event: Event, at now: Timestamp) throws(Refusal) -> [Action] {
        var next = self
        let actions = try next.transition(event, at: now)
        self = next
        return actions
    }

    private mutating func transition(_ event: Event, at now: Timestamp) throws(Refusal) -> [Action] {
        switch event {
        case .start:
            guard status == .queued else { throw conflict("The run is \(status.rawValue); only a queued run starts.") }
            status = .running
            return advance(at: now)
        case .attemptStarted(let id):
            let index = try active(id, in: [.running], kinds: [.task, .sandbox])
            steps[index].attempts += 1
            return []
        case .stepSucceeded(let id, let output):
            let index = try active(id, in: [.running], kinds: [.task, .sandbox])
            finish(index, .succeeded, at: now)
            steps[index].output = output
            return advance(at: now)
        case .stepFailed(let id, let code, let message, let details):
            let index = try active(id, in: [.running], kinds: [.task, .sandbox, .wait])
            finish(index, .failed, at: now)
            var error = JSONObject([("code", .string(code)), ("message", .string(message))])
            for member in details { error[member.key] = member.value }
            steps[index].error = .object(error)
            return fail(Failure(code: "step_failed", message: "Step \(id) failed: \(message)", stepID: id), at: now)
        case .timerFired(let id):
            let index = try active(id, in: [.running], kinds: [.wait])
            finish(index, .succeeded, at: now)
            return advance(at: now)
        case .approve(let role, let note):
            for index in try approvable(by: role) {
                finish(index, .succeeded, at: now)
                steps[index].output = ["approved_by_role": .string(role.rawValue), "note": note.map(JSON.string) ?? .null]
            }
            return advance(at: now)
        case .reject(let role, let note):
            let indices = try approvable(by: role)
            for index in indices {
                finish(index, .failed, at: now)
                steps[index].error = ["code": "approval_rejected", "message": .string(note ?? "Rejected.")]
            }
            let message = "A \(role.rawValue) rejected the run" + (note.map { ": \($0)" } ?? ".")
            return fail(Failure(code: "approval_rejected", message: message, stepID: indices.first.map { steps[$0].id }), at: now)
        case .cancel:
            guard !status.isFinished else { throw conflict("The run is \(status.rawValue) already.") }
            let actions = stopAll(at: now)
            status = .cancelled
            return actions + [.finished(.cancelled)]
        case .abort(let code, let message):
            guard status == .running || status == .awaitingApproval else { throw conflict("The run is \(status.rawValue).") }
            return fail(Failure(code: code, message: message, stepID: nil), at: now)
        case .stepTimedOut(let id):
            let index = try active(id, in: [.awaiting], kinds: [.approval])
            finish(index, .failed, at: now)
            let message = "Step \(id) was not decided before its deadline."
            steps[index].error = ["code": "approval_timeout", "message": .string(message)]
            return fail(Failure(code: "approval_timeout", message: message, stepID: id), at: now)
        case .runTimedOut:
            guard [.queued, .running, .awaitingApproval].contains(status) else { throw conflict("The run is \(status.rawValue).") }
            return fail(Failure(code: "run_timeout", message: "The run did not finish before its deadline.", stepID: nil), at: now)
        case .retry(let from):
            guard status == .failed || status == .cancelled else {
                throw conflict("The run is \(status.rawValue); only a failed or cancelled run is retried.")
            }
            for index in try retried(from: from) { steps[index] = StepProgress(id: steps[index].id, kind: steps[index].kind) }
            failure = nil
            status = .running
            return advance(at: now)
        }
    }

    /// The index of step `id`, which must be in one of `statuses` and of one of `kinds`, in a
    /// run that is still going; else 409 (a stale completion, a late timer) or 422.
    private func active(_ id: String, in statuses: Set<StepStatus>, kinds: Set<WorkflowStep.Kind>) throws(Refusal) -> Int {
        guard let index = steps.firstIndex(where: { $0.id == id }) else { throw Refusal(code: .invalid, message: "\(id) is not a step of this run.") }
        guard status == .running || status == .awaitingApproval else { throw conflict("The run is \(status.rawValue).") }
        let step = steps[index]
        guard statuses.contains(step.status), kinds.contains(step.kind) else {
            throw conflict("Step \(id) (\(step.kind.rawValue)) is \(step.status.rawValue).")
        }
        return index
    }

    /// The awaiting approval steps `role` may decide; 409 unless the run awaits approval, 403
    /// when none of them lists `role` among its approvers.
    private func approvable(by role: Role) throws(Refusal) -> [Int] {
        guard status == .awaitingApproval else { throw conflict("The run is \(status.rawValue), not awaiting approval.") }
        var allowed: [Role] = []
        let indices = steps.indices.filter { index in
            guard steps[index].status == .awaiting, case .approval(let approvers) = definition[index].work else { return false }
            allowed += approvers
            return approvers.contains(role)
        }
        guard !indices.isEmpty else {
            let names = Set(allowed.map(\.rawValue)).sorted().joined(separator: ", ")
            throw Refusal(code: .forbidden, message: "Your role (\(role.rawValue)) may not approve this step; its approvers are \(names).")
        }
        return indices
    }

    /// The steps a retry runs again: `from` and every step after it (which must have every step
    /// before it succeeded), or else the failed, cancelled and skipped ones.
    private func retried(from: String?) throws(Refusal) -> [Int] {
        guard let from else { return steps.indices.filter { [.failed, .cancelled, .skipped].contains(steps[$0].status) } }
        guard let start = steps.firstIndex(where: { $0.id == from }) else {
            throw Refusal(code: .invalid, message: "from_step_id \(from) is not a step of this run.")
        }
        // Steps may be listed in any order: grow the set until no step needing one of it is left.
        var downstream: Set<String> = [steps[start].id]
        var grew = true
        while grew {
            grew = false
            for step in definition where !downstream.contains(step.id) && step.needs.contains(where: downstream.contains) {
                downstream.insert(step.id)
                grew = true
            }
        }
        for need in upstream(of: from) where steps.first(where: { $0.id == need })?.status != .succeeded {
            throw Refusal(code: .invalid, message: "\(from) needs \(need), which has not succeeded; retry from \(need) instead.")
        }
        return steps.indices.filter { downstream.contains(steps[$0].id) }
    }

    private func needs(of id: String) -> [String] { definition.first { $0.id == id }?.needs ?? [] }

    private func upstream(of id: String) -> Set<String> {
        var seen: Set<String> = []
        var stack = needs(of: id)
        while let next = stack.popLast() {
            if seen.insert(next).inserted { stack += needs(of: next) }
        }
        return seen
    }

    private mutating func finish(_ index: Int, _ outcome: StepStatus, at now: Timestamp) {
        steps[index].status = outcome
        steps[index].finishedAt = now
    }

    /// Starts every pending step whose needs have all succeeded, then sets the run's status.
    private mutating func advance(at now: Timestamp) -> [Action] {
        var actions: [Action] = []
        let succeeded = Set(steps.filter { $0.status == .succeeded }.map(\.id))
        for (index, step) in definition.enumerated() where steps[index].status == .pending && step.needs.allSatisfy(succeeded.contains) {
            steps[index].startedAt = now
            switch step.work {
            case .task:
                steps[index].status = .running
                actions.append(.enqueueJob(stepID: step.id))
            case .sandbox:
                steps[index].status = .running
                actions.append(.startSandbox(stepID: step.id))
            case .wait(let duration):
                steps[index].status = .running
                actions.append(.startTimer(stepID: step.id, fireAt: now + .milliseconds(duration)))
            case .approval:
                steps[index].status = .awaiting
            }
        }
        if steps.allSatisfy({ $0.status == .succeeded }) {
            status = .succeeded
            actions.append(.finished(.succeeded))
        } else {
            status = steps.contains { $0.status == .awaiting } ? .awaitingApproval : .running
        }
        return actions
    }

    private mutating func fail(_ reason: Failure, at now: Timestamp) -> [Action] {
        let actions = stopAll(at: now)
        status = .failed
        failure = reason
        return actions + [.finished(.failed)]
    }

    /// Cancels what runs or awaits (asking for running work to stop) and skips what is pending.
    private mutating func stopAll(at now: Timestamp) -> [Action] {
        var actions: [Action] = []
        for index in steps.indices {
            switch steps[index].status {
            case .running:
                finish(index, .cancelled, at: now)
                actions.append(.stopWork(stepID: steps[index].id))
            case .awaiting:
                finish(index, .cancelled, at: now)
            case .pending:
                steps[index].status = .skipped
            case .succeeded, .failed, .skipped, .cancelled:
                break
            }
        }
        return actions
    }

    /// Adds what step `index`'s job reported using. Sums saturate: what workers report is
    /// bounded per report, not in how often it is reported.
    mutating func addUsage(inputTokens: Int64, outputTokens: Int64, costUSD: Double, toStep index: Int) {
        steps[index].inputTokens = steps[index].inputTokens.saturatingAdding(inputTokens)
        steps[index].outputTokens = steps[index].outputTokens.saturatingAdding(outputTokens)
        steps[index].costUSD = steps[index].costUSD.finiteAdding(costUSD)
    }

    /// The run's cost and tokens so far, over its steps (saturating).
    public var totalCostUSD: Double { steps.reduce(0) { $0.finiteAdding($1.costUSD) } }
    public var totalTokens: (input: Int64, output: Int64) {
        var input: Int64 = 0
        var output: Int64 = 0
        for step in steps {
            input = input.saturatingAdding(step.inputTokens)
            output = output.saturatingAdding(step.outputTokens)
        }
        return (input, output)
    }

    /// Records the attempts its job made on step `index` (the job counts them, not the run).
    mutating func setAttempts(_ attempts: Int, ofStep index: Int) {
        steps[index].attempts = attempts
    }

    private func conflict(_ message: String) -> Refusal { Refusal(code: .conflict, message: message) }
}
