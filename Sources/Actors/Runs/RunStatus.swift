/// A run's status (API.md, Runs): `queued` → `running` ⇄ `awaiting_approval` → `succeeded` |
/// `failed` | `cancelled`; `planned` for a dry run, which never executes.
public enum RunStatus: String, Sendable, CaseIterable {
    case planned
    case queued
    case running
    case awaitingApproval = "awaiting_approval"
    case succeeded
    case failed
    case cancelled

    /// Succeeded, failed or cancelled (a planned dry run is over from the start too).
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .cancelled, .planned: true
        case .queued, .running, .awaitingApproval: false
        }
    }
}

/// A step's status within its run.
public enum StepStatus: String, Sendable, CaseIterable {
    case pending
    case running
    /// An approval step waiting for a person.
    case awaiting
    case succeeded
    case failed
    /// Never started: the run failed or was cancelled first.
    case skipped
    /// Stopped while running or awaiting, by a cancel or by another step's failure.
    case cancelled
}
