import TroupeCore

/// The events a run's transition causes, read off its state before and after: the run's
/// start or approval first, then its steps' changes in step order, then the run waiting for
/// approval or finishing.
enum RunEvents {
    /// The events of the run's creation (and, unless a dry run, its start).
    static func created(runID: String, _ state: RunState) -> [EventDraft] {
        [draft(.runCreated, runID: runID, state, ["workflow_id": .string(state.workflowID), "dry_run": .bool(state.dryRun)])]
            + between(nil, state, runID: runID)
    }

    /// The events of the change from `old` (nil: a run just created, queued) to `new` that
    /// `event` made (nil: a budget change).
    static func between(_ old: RunState?, _ new: RunState, runID: String, by event: RunMachine.Event? = nil) -> [EventDraft] {
        let before = old?.machine.status ?? .queued
        let after = new.machine.status
        var leading: [EventDraft] = []
        var trailing: [EventDraft] = []
        let change: JSON = ["status": .string(after.rawValue), "previous_status": .string(before.rawValue)]
        if case .approve(let role, let note) = event, before == .awaitingApproval {
            // Approved, whatever comes next: the run goes on, or it was the last step and it succeeds.
            var data = change.objectValue ?? JSONObject()
            data["role"] = .string(role.rawValue)
            data["note"] = note.map(JSON.string) ?? .null
            leading.append(draft(.runApproved, runID: runID, new, .object(data)))
        }
        if before != after {
            switch (before, after) {
            case (.awaitingApproval, .running): break  // approved, above
            case (_, .running): leading.append(draft(.runStarted, runID: runID, new, change))
            case (_, .awaitingApproval): trailing.append(draft(.runAwaitingApproval, runID: runID, new, change))
            case (_, .succeeded): trailing.append(draft(.runSucceeded, runID: runID, new, change))
            case (_, .failed):
                if case .runTimedOut? = event {
                    trailing.append(draft(.runTimedOut, runID: runID, new, ["deadline_at": new.deadlineAt.map { .string($0.rfc3339) } ?? .null]))
                }
                trailing.append(draft(.runFailed, runID: runID, new, failed(change, new.machine.failure)))
            case (_, .cancelled): trailing.append(draft(.runCancelled, runID: runID, new, change))
            case (_, .queued), (_, .planned): break
            }
        }
        var steps: [EventDraft] = []
        for (index, step) in new.machine.steps.enumerated() {
            let previous = old.flatMap { $0.machine.steps.indices.contains(index) ? $0.machine.steps[index] : nil }
            let was = previous?.status ?? .pending
            guard was != step.status else { continue }
            var data = JSONObject([("step_id", .string(step.id)), ("status", .string(step.status.rawValue)), ("attempts", .int(Int64(step.attempts)))])
            switch step.status {
            case .running:
                steps.append(draft(.stepStarted, runID: runID, new, .object(data)))
            case .awaiting:
                // An approval waits for a person, until its deadline if it has one.
                let deadline = new.machine.definition[index].timeoutMilliseconds.flatMap { timeout in step.startedAt.map { $0 + .milliseconds(timeout) } }
                data["deadline_at"] = deadline.map { .string($0.rfc3339) } ?? .null
                steps.append(draft(.stepWaiting, runID: runID, new, .object(data)))
            case .failed where event == .stepTimedOut(stepID: step.id):
                if let error = step.error { data["error"] = error }
                steps.append(draft(.stepTimedOut, runID: runID, new, .object(data)))
            case .succeeded:
                if let output = step.output { data["output"] = output }
                steps.append(draft(.stepSucceeded, runID: runID, new, .object(data)))
            case .failed:
                if let error = step.error { data["error"] = error }
                steps.append(draft(.stepFailed, runID: runID, new, .object(data)))
            case .pending, .skipped, .cancelled:
                break
            }
        }
        return leading + steps + trailing
    }

    private static func failed(_ change: JSON, _ failure: RunMachine.Failure?) -> JSON {
        guard var object = change.objectValue, let failure else { return change }
        object["error"] = ["code": .string(failure.code), "message": .string(failure.message), "step_id": failure.stepID.map(JSON.string) ?? .null]
        return .object(object)
    }

    private static func draft(_ type: EventType, runID: String, _ state: RunState, _ data: JSON) -> EventDraft {
        EventDraft(type, workspaceID: state.workspace, runID: runID, runCreatedAt: state.createdAt, data: data)
    }
}
