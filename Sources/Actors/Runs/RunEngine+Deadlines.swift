import TroupeCore
import TroupePersistence

/// Deadlines (API.md, "Waits: signals, callbacks and deadlines"): an approval step's
/// `timeout_ms` from its start, and a run's `deadline_at` (its workflow's `timeout_ms` from its
/// creation), each a `due_work` row that the run's transitions write and remove.
extension RunEngine {
    /// Rows ending an approval step still awaiting at its deadline (key `<run>/<step>`).
    static let stepDeadlineKind = "step.deadline"
    /// Rows failing a run still unfinished at its `deadline_at` (key `<run>`).
    static let runDeadlineKind = "run.deadline"

    /// Workflows gain a run deadline.
    static let workflowTimeoutMigration = Migration("deadlines-1 workflow timeout", adding: "timeout_ms", "INTEGER", to: "workflow_versions")

    /// Stored approval steps lose the `timeout_ms` they were stored with (the old default filled
    /// in, never enforced), so that they wait until their run ends as they always did, rather
    /// than time out now.
    static let approvalsWithoutDeadlineMigration = Migration("deadlines-2 stored approvals wait until their run ends") { db in
        func stripped(_ steps: JSON) -> JSON? {
            guard let array = steps.arrayValue else { return nil }
            return .array(array.map { step in
                guard step["kind"]?.stringValue == "approval", var object = step.objectValue else { return step }
                object["timeout_ms"] = .null
                return .object(object)
            })
        }
        let versions = try db.query("SELECT workflow_id, version, steps FROM workflow_versions WHERE instr(CAST(steps AS TEXT), '\"kind\":\"approval\"') > 0") {
            ($0.string(at: 0) ?? "", $0.int64(at: 1), $0.blob(at: 2) ?? [])
        }
        for (id, version, blob) in versions {
            guard let steps = try? JSON.parse(blob), let changed = stripped(steps) else { continue }  // unreadable: set aside when read
            try db.execute("UPDATE workflow_versions SET steps = ? WHERE workflow_id = ? AND version = ?", [.blob(changed.bytes), .text(id), .integer(version)])
        }
        let runs = try db.query("SELECT id, state FROM snapshots WHERE kind = 'run' AND instr(CAST(state AS TEXT), '\"kind\":\"approval\"') > 0") {
            ($0.string(at: 0) ?? "", $0.blob(at: 1) ?? [])
        }
        for (id, blob) in runs {
            guard let state = try? JSON.parse(blob), var object = state.objectValue, let definition = object["definition"].flatMap(stripped) else { continue }
            object["definition"] = definition
            try db.execute("UPDATE snapshots SET state = ? WHERE kind = 'run' AND id = ?", [.blob(JSON.object(object).bytes), .text(id)])
        }
    }

    /// The origin of a deadline's change: the server, audited as `{type: "server", id: "deadline"}`.
    static func deadlineOrigin(event: String, runID: String, workspaceID: String) -> ChangeOrigin {
        ChangeOrigin(principal: nil, requestID: nil, ip: nil, audit: AuditIntent(AuditDraft(
            workspaceID: workspaceID, actor: AuditActor(type: AuditActor.server, id: "deadline"), event: event, targetType: "run",
            targetID: runID, requestID: nil, ip: nil)))
    }

    /// Fails the run an approval deadline's row names if its step still awaits (its transition
    /// removes the row); otherwise the row goes alone.
    func fireStepDeadline(_ work: DueWork) async throws {
        let parts = work.key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            context.store.setAside.record(kind: "deadline", id: work.key, reason: "its key names no run and step")
            return try await removeAlone(work)
        }
        let origin = Self.deadlineOrigin(event: "step.timed_out", runID: parts[0], workspaceID: work.workspaceID)
        try await fire(work, runID: parts[0], event: .stepTimedOut(stepID: parts[1]), origin: origin)
    }

    /// Fails the run a run deadline's row names if it is unfinished; otherwise the row goes alone.
    func fireRunDeadline(_ work: DueWork) async throws {
        try await fire(work, runID: work.key, event: .runTimedOut,
                       origin: Self.deadlineOrigin(event: "run.timed_out", runID: work.key, workspaceID: work.workspaceID))
    }

    private func fire(_ work: DueWork, runID: String, event: RunMachine.Event, origin: ChangeOrigin) async throws {
        do {
            _ = try await apply(event, to: runID, origin: origin)
            return
        } catch is RunRefusal {
            // Decided or finished meanwhile: nothing to end.
        } catch let error as ActorRuntimeError where error.code == .notFound || error.code == .corruptSnapshot {
            context.store.setAside.record(kind: "deadline", id: work.key, reason: "its run cannot take it: \(error)")
        }
        try await removeAlone(work)
    }

    private func removeAlone(_ work: DueWork) async throws {
        try await context.store.journal.commit(.system) { db in try DueWork.delete(kind: work.kind, key: work.key, on: db) }
    }
}
