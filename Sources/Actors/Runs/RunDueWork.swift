import TroupeCore

/// The `due_work` rows a run's transition writes and removes, in its own transaction (the
/// durable clock of DESIGN.md), read off the transition's actions and the states before and
/// after it:
///
/// - a `wait` step started is due at its end; one stopped, or fired, is removed;
/// - an approval step with `timeout_ms` that starts awaiting is due at its deadline; one that
///   stops awaiting (decided, timed out, cancelled) is removed;
/// - a run with `deadline_at` is due then from its creation until it finishes (again after a
///   retry, at once when the deadline has passed);
/// - a scheduled run that finishes makes its schedule's release due now (a fire `buffer_one`
///   holds starts then).
enum RunDueWork {
    static func changes(
        from old: RunState?, to new: RunState, actions: [RunMachine.Action], after event: RunMachine.Event?, runID: String, at now: Timestamp
    ) -> @Sendable (JournalTransaction) throws -> Void {
        let workspaceID = new.workspace
        var due: [DueWork] = []
        var gone: [(kind: String, key: String)] = []
        if case .timerFired(let stepID)? = event { gone.append((RunEngine.waitKind, runID + "/" + stepID)) }
        for action in actions {
            switch action {
            case .startTimer(let stepID, let fireAt):
                due.append(DueWork(kind: RunEngine.waitKind, key: runID + "/" + stepID, workspaceID: workspaceID, dueAt: fireAt))
            case .stopWork(let stepID):
                gone.append((RunEngine.waitKind, runID + "/" + stepID))
            case .finished:
                if let scheduleID = new.scheduleID {
                    due.append(ScheduleService.releaseWork(scheduleID: scheduleID, workspaceID: workspaceID, at: now))
                }
            case .enqueueJob, .startSandbox:
                break
            }
        }
        for (index, step) in new.machine.steps.enumerated() {
            let was = old.flatMap { $0.machine.steps.indices.contains(index) ? $0.machine.steps[index].status : nil }
            let key = runID + "/" + step.id
            if step.status == .awaiting, was != .awaiting, let timeout = new.machine.definition[index].timeoutMilliseconds,
                let started = step.startedAt {
                due.append(DueWork(kind: RunEngine.stepDeadlineKind, key: key, workspaceID: workspaceID, dueAt: started + .milliseconds(timeout)))
            } else if was == .awaiting, step.status != .awaiting {
                gone.append((RunEngine.stepDeadlineKind, key))
            }
        }
        if let deadline = new.deadlineAt {
            let wasGoing = old.map { !$0.machine.status.isFinished && $0.machine.status != .planned } ?? false
            let isGoing = !new.machine.status.isFinished && new.machine.status != .planned
            if isGoing, !wasGoing {
                due.append(DueWork(kind: RunEngine.runDeadlineKind, key: runID, workspaceID: workspaceID, dueAt: deadline))
            } else if wasGoing, !isGoing {
                gone.append((RunEngine.runDeadlineKind, runID))
            }
        }
        return { [due, gone] transaction in
            for row in gone { try transaction.unschedule(kind: row.kind, key: row.key) }
            for work in due { try transaction.schedule(work) }
        }
    }
}
