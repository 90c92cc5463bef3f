import TroupeCore

/// A run's durable state: the workflow version it runs, its machine, what it was started with,
/// and the job of each task step.
public struct RunState: Snapshot, Equatable {
    public static let schemaVersion = 1

    public let workspace: String
    public let workflowID: String
    public let workflowSlug: String
    public let workflowVersion: Int
    public internal(set) var machine: RunMachine
    public let ticket: String?
    public let env: String?
    public let input: JSON
    public let metadata: JSON
    public let dryRun: Bool
    /// `{max_cost_usd, token_budget}` (each a number or null).
    public internal(set) var budget: JSON
    /// `{type: "user" | "api_key" | "schedule", id}`.
    public let createdBy: JSON
    /// The schedule that started the run, and the fire time it started for (without jitter).
    public let scheduleID: String?
    public let scheduledAt: Timestamp?
    /// −600 to 600 seconds (API.md, Flow control); the schedule's for a scheduled run.
    public let priority: Int
    /// When the run fails with `run_timeout` if unfinished: its creation plus its workflow's
    /// `timeout_ms` (nil without one, and for a dry run).
    public let deadlineAt: Timestamp?
    public let createdAt: Timestamp
    public internal(set) var updatedAt: Timestamp
    /// The current job of each task step that has one.
    public internal(set) var jobs: [String: String]

    public init(workspace: String, workflow: WorkflowRecord, ticket: String?, env: String?, input: JSON, metadata: JSON, dryRun: Bool,
                budget: JSON? = nil, createdBy: JSON, schedule: (id: String, scheduledAt: Timestamp)? = nil, priority: Int = 0,
                at now: Timestamp) {
        self.workspace = workspace
        workflowID = workflow.id
        workflowSlug = workflow.slug
        workflowVersion = workflow.version
        machine = RunMachine(definition: workflow.steps, dryRun: dryRun)
        self.ticket = ticket
        self.env = env
        self.input = input
        self.metadata = metadata
        self.dryRun = dryRun
        self.budget = budget ?? ["max_cost_usd": workflow.costCapUSD.map(JSON.double) ?? .null, "token_budget": .null]
        self.createdBy = createdBy
        scheduleID = schedule?.id
        scheduledAt = schedule?.scheduledAt
        self.priority = priority
        deadlineAt = dryRun ? nil : workflow.timeoutMilliseconds.map { now + .milliseconds($0) }
        createdAt = now
        updatedAt = now
        jobs = [:]
    }

    /// Sets the budget's fields given in `fields`; `max_cost_usd` defaults to `defaultCap`.
    public mutating func setBudget(_ fields: JSONObject, default defaultCap: Double?) {
        var budget = JSONObject([("max_cost_usd", defaultCap.map(JSON.double) ?? .null), ("token_budget", .null)])
        for member in fields { budget[member.key] = member.value }
        self.budget = .object(budget)
    }

    /// Why the run's usage passes its budget, if it does (API.md: past a cap, the run fails).
    public var budgetExceeded: String? {
        if let cap = budget["max_cost_usd"]?.doubleValue, machine.totalCostUSD > cap {
            return "The run cost $\(machine.totalCostUSD), past its budget of $\(cap)."
        }
        let tokens = machine.totalTokens.input.saturatingAdding(machine.totalTokens.output)
        if let limit = budget["token_budget"]?.doubleValue, Double(tokens) > limit {
            return "The run used \(tokens) tokens, past its budget of \(Int64(saturating: limit))."
        }
        return nil
    }

    public var workspaceID: String? { workspace }
    public var status: String? { machine.status.rawValue }
    public var listedWorkflowID: String? { workflowID }
    public var listedScheduleID: String? { scheduleID }

    public func encoded() -> JSON {
        func time(_ stamp: Timestamp?) -> JSON { stamp.map { .int($0.microsecondsSinceEpoch) } ?? .null }
        // A step stores only what differs from a step not yet started (the decoder's defaults):
        // most steps of a new run are just an id and `pending`.
        let steps = machine.steps.map { step -> JSON in
            var fields = JSONObject([("id", .string(step.id)), ("status", .string(step.status.rawValue))])
            if step.attempts != 0 { fields["attempts"] = .int(Int64(step.attempts)) }
            if let startedAt = step.startedAt { fields["started_at"] = time(startedAt) }
            if let finishedAt = step.finishedAt { fields["finished_at"] = time(finishedAt) }
            if let output = step.output { fields["output"] = output }
            if let error = step.error { fields["error"] = error }
            if step.inputTokens != 0 { fields["input_tokens"] = .int(step.inputTokens) }
            if step.outputTokens != 0 { fields["output_tokens"] = .int(step.outputTokens) }
            if step.costUSD != 0 { fields["cost_usd"] = .double(step.costUSD) }
            return .object(fields)
        }
        let failure: JSON = machine.failure.map {
            ["code": .string($0.code), "message": .string($0.message), "step_id": $0.stepID.map(JSON.string) ?? .null]
        } ?? .null
        return .object(JSONObject([
            ("workspace_id", .string(workspace)), ("workflow_id", .string(workflowID)), ("workflow_slug", .string(workflowSlug)),
            ("workflow_version", .int(Int64(workflowVersion))), ("definition", .array(machine.definition.map(\.json))),
            ("status", .string(machine.status.rawValue)), ("steps", .array(steps)), ("failure", failure),
            ("ticket", ticket.map(JSON.string) ?? .null), ("env", env.map(JSON.string) ?? .null), ("input", input), ("metadata", metadata),
            ("dry_run", .bool(dryRun)), ("budget", budget), ("created_by", createdBy), ("schedule_id", scheduleID.map(JSON.string) ?? .null),
            ("scheduled_at", time(scheduledAt)), ("priority", .int(Int64(priority))), ("deadline_at", time(deadlineAt)), ("created_at", time(createdAt)), ("updated_at", time(updatedAt)),
            ("jobs", .object(JSONObject(jobs.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))),
        ]))
    }

    public init(decoding json: JSON, schemaVersion: Int) throws(SnapshotError) {
        guard schemaVersion == Self.schemaVersion else { throw SnapshotError("run snapshot version \(schemaVersion) is unknown") }
        func string(_ key: String) throws(SnapshotError) -> String {
            guard let value = json[key]?.stringValue else { throw SnapshotError("run snapshot lacks \(key)") }
            return value
        }
        func time(_ value: JSON?) -> Timestamp? { value?.intValue.map { Timestamp(microsecondsSinceEpoch: $0) } }
        guard case .success(let definition) = WorkflowParser.parse(steps: json["definition"], stored: true) else {
            throw SnapshotError("run snapshot's definition does not parse")
        }
        guard let status = json["status"]?.stringValue.flatMap(RunStatus.init(rawValue:)) else { throw SnapshotError("run snapshot lacks status") }
        var steps: [StepProgress] = []
        for (step, stored) in zip(definition, json["steps"]?.arrayValue ?? []) {
            var progress = StepProgress(id: step.id, kind: step.kind)
            guard let stepStatus = stored["status"]?.stringValue.flatMap(StepStatus.init(rawValue:)) else {
                throw SnapshotError("run snapshot step \(step.id) lacks status")
            }
            progress.status = stepStatus
            progress.attempts = Int(stored["attempts"]?.intValue ?? 0)
            progress.startedAt = time(stored["started_at"])
            progress.finishedAt = time(stored["finished_at"])
            progress.output = stored["output"].flatMap { $0.isNull ? nil : $0 }
            progress.error = stored["error"].flatMap { $0.isNull ? nil : $0 }
            progress.inputTokens = stored["input_tokens"]?.intValue ?? 0
            progress.outputTokens = stored["output_tokens"]?.intValue ?? 0
            progress.costUSD = stored["cost_usd"]?.doubleValue ?? 0
            steps.append(progress)
        }
        guard steps.count == definition.count else { throw SnapshotError("run snapshot has \(steps.count) steps for \(definition.count)") }
        var failure: RunMachine.Failure?
        if let stored = json["failure"]?.objectValue, let code = stored["code"]?.stringValue, let message = stored["message"]?.stringValue {
            failure = RunMachine.Failure(code: code, message: message, stepID: stored["step_id"]?.stringValue)
        }
        workspace = try string("workspace_id")
        workflowID = try string("workflow_id")
        workflowSlug = try string("workflow_slug")
        workflowVersion = Int(json["workflow_version"]?.intValue ?? 1)
        machine = RunMachine(definition: definition, status: status, steps: steps, failure: failure)
        ticket = json["ticket"]?.stringValue
        env = json["env"]?.stringValue
        input = json["input"] ?? .object(JSONObject())
        metadata = json["metadata"] ?? .object(JSONObject())
        dryRun = json["dry_run"] == true
        budget = json["budget"] ?? ["max_cost_usd": .null, "token_budget": .null]
        createdBy = json["created_by"] ?? .null
        scheduleID = json["schedule_id"]?.stringValue
        scheduledAt = time(json["scheduled_at"])
        priority = Int(clamping: json["priority"]?.intValue ?? 0)
        deadlineAt = time(json["deadline_at"])
        createdAt = time(json["created_at"]) ?? Timestamp(microsecondsSinceEpoch: 0)
        updatedAt = time(json["updated_at"]) ?? createdAt
        jobs = (json["jobs"]?.objectValue ?? JSONObject()).reduce(into: [:]) { $0[$1.key] = $1.value.stringValue }
    }
}
