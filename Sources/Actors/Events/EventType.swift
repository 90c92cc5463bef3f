/// The kinds of event in a workspace's log (API.md, Events and webhooks): `resource.verb`.
public enum EventType: String, Sendable, CaseIterable {
    case runCreated = "run.created"
    case runStarted = "run.started"
    case runAwaitingApproval = "run.awaiting_approval"
    case runApproved = "run.approved"
    case runSucceeded = "run.succeeded"
    case runFailed = "run.failed"
    case runCancelled = "run.cancelled"
    case runTimedOut = "run.timed_out"
    case stepStarted = "step.started"
    case stepWaiting = "step.waiting"
    case stepTimedOut = "step.timed_out"
    case stepSucceeded = "step.succeeded"
    case stepFailed = "step.failed"
    case jobDead = "job.dead"
    case sandboxReady = "sandbox.ready"
    case sandboxExecFinished = "sandbox.exec_finished"
    case sandboxTerminated = "sandbox.terminated"

    /// The last event of a run's stream: after it the run changes no more (until a retry,
    /// which a new stream follows).
    public var endsRun: Bool {
        switch self {
        case .runSucceeded, .runFailed, .runCancelled: true
        default: false
        }
    }
}
