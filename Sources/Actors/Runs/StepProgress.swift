import TroupeCore

/// What happened so far to one step of a run.
public struct StepProgress: Sendable, Equatable {
    public let id: String
    public let kind: WorkflowStep.Kind
    public internal(set) var status: StepStatus = .pending
    /// Attempts started (a job claimed, a sandbox started); reset when the step is retried.
    public internal(set) var attempts = 0
    public internal(set) var startedAt: Timestamp?
    public internal(set) var finishedAt: Timestamp?
    public internal(set) var output: JSON?
    /// `{code, message}` of a failure, or the note of a rejection.
    public internal(set) var error: JSON?
    /// What the step's job reported using.
    public internal(set) var inputTokens: Int64 = 0
    public internal(set) var outputTokens: Int64 = 0
    public internal(set) var costUSD = 0.0

    public init(id: String, kind: WorkflowStep.Kind) {
        self.id = id
        self.kind = kind
    }

    /// Milliseconds from start to finish, once finished.
    public var durationMilliseconds: Int64? {
        guard let startedAt, let finishedAt else { return nil }
        return (finishedAt - startedAt).nanoseconds / 1_000_000
    }
}
