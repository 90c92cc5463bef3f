import TroupeActors
import TroupeCore

/// The API's run object (API.md, Runs) and its lifecycle view.
enum RunJSON {
    static func run(id: String, _ state: RunState) -> JSON {
        func time(_ stamp: Timestamp?) -> JSON { stamp.map { .string($0.rfc3339) } ?? .null }
        let machine = state.machine
        let tokens = machine.totalTokens
        let steps = machine.steps.map { step -> JSON in
            .object(JSONObject([
                ("id", .string(step.id)), ("kind", .string(step.kind.rawValue)), ("status", .string(step.status.rawValue)),
                ("attempts", .int(Int64(step.attempts))), ("started_at", time(step.startedAt)), ("finished_at", time(step.finishedAt)),
                ("duration_ms", step.durationMilliseconds.map(JSON.int) ?? .null), ("output", step.output ?? .null),
                ("error", step.error ?? .null), ("cost_usd", .double(step.costUSD)),
            ]))
        }
        let failure: JSON = machine.failure.map {
            ["code": .string($0.code), "message": .string($0.message), "step_id": $0.stepID.map(JSON.string) ?? .null]
        } ?? .null
        return .object(JSONObject([
            ("id", .string(id)), ("workflow", .string(state.workflowSlug)), ("workflow_id", .string(state.workflowID)),
            ("workflow_version", .int(Int64(state.workflowVersion))), ("status", .string(machine.status.rawValue)),
            ("ticket", state.ticket.map(JSON.string) ?? .null), ("env", state.env.map(JSON.string) ?? .null), ("input", state.input),
            ("metadata", state.metadata), ("dry_run", .bool(state.dryRun)), ("cost_usd", .double(machine.totalCostUSD)),
            ("usage", ["input_tokens": .int(tokens.input), "output_tokens": .int(tokens.output)]),
            ("budget", state.budget), ("failure", failure), ("steps", .array(steps)),
            ("created_by", state.createdBy), ("priority", .int(Int64(state.priority))), ("schedule_id", state.scheduleID.map(JSON.string) ?? .null),
            ("scheduled_at", time(state.scheduledAt)), ("deadline_at", time(state.deadlineAt)), ("created_at", time(state.createdAt)), ("updated_at", time(state.updatedAt)),
        ]))
    }

    /// `{total_cost_usd, steps: [{step_id, input_tokens, output_tokens, cost_usd}]}`.
    static func costs(_ state: RunState) -> JSON {
        ["total_cost_usd": .double(state.machine.totalCostUSD), "steps": .array(state.machine.steps.map { step in
            .object(JSONObject([("step_id", .string(step.id)), ("input_tokens", .int(step.inputTokens)),
                                ("output_tokens", .int(step.outputTokens)), ("cost_usd", .double(step.costUSD))]))
        })]
    }

    /// `{phases: [{name, reached, current, at}]}` for queued, running, awaiting_approval, finished.
    static func lifecycle(_ state: RunState) -> JSON {
        let machine = state.machine
        let started = machine.steps.compactMap(\.startedAt).min()
        let approvalsStarted = zip(machine.definition, machine.steps).compactMap { step, progress -> Timestamp? in
            guard case .approval = step.work else { return nil }
            return progress.startedAt
        }.min()
        let finished = machine.status.isFinished
        let phases: [(String, Bool, Bool, Timestamp?)] = [
            ("queued", true, machine.status == .queued, state.createdAt),
            ("running", started != nil, machine.status == .running, started),
            ("awaiting_approval", approvalsStarted != nil, machine.status == .awaitingApproval, approvalsStarted),
            ("finished", finished, finished, finished ? state.updatedAt : nil),
        ]
        return ["phases": .array(phases.map { name, reached, current, at in
            .object(JSONObject([("name", .string(name)), ("reached", .bool(reached)), ("current", .bool(current)),
                                ("at", at.map { .string($0.rfc3339) } ?? .null)]))
        })]
    }
}
