/// A job's completion or failure lost a race: between its read and the commit of its run's
/// next step, the job changed (its lease expired and it was queued again, or another
/// completion got there first). Nothing of that commit was written; the worker gets 409.
/// Expected, not a fault of the run.
public struct JobFinishConflict: ExpectedActorError, Sendable, Equatable {
    public let id: String

    public var message: String { "Job \(id) changed meanwhile: the lease this answer names is no longer current." }
}
