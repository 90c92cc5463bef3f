import TroupeCore

/// A job as stored: what to do, for whom, and its ``JobMachine`` state.
public struct JobRecord: Sendable {
    public let id: String
    public let workspaceID: String
    public let queue: String
    public let runID: String?
    public let stepID: String?
    public let input: JSON
    public var output: JSON?
    /// `{input_tokens, output_tokens, cost_usd}` reported on completion.
    public var usage: JSON?
    public var machine: JobMachine
    public let timeoutMilliseconds: Int64
    /// The worker that claimed the job last.
    public internal(set) var workerID: String?
    public let createdAt: Timestamp
    public internal(set) var updatedAt: Timestamp

    public init(id: String, workspaceID: String, queue: String, runID: String?, stepID: String?, input: JSON, maxAttempts: Int,
                timeoutMilliseconds: Int64, at now: Timestamp) {
        self.init(id: id, workspaceID: workspaceID, queue: queue, runID: runID, stepID: stepID, input: input, output: nil, usage: nil,
                  machine: JobMachine(maxAttempts: maxAttempts, availableAt: now), timeoutMilliseconds: timeoutMilliseconds,
                  createdAt: now, updatedAt: now, workerID: nil)
    }

    init(id: String, workspaceID: String, queue: String, runID: String?, stepID: String?, input: JSON, output: JSON?, usage: JSON?,
         machine: JobMachine, timeoutMilliseconds: Int64, createdAt: Timestamp, updatedAt: Timestamp, workerID: String?) {
        self.id = id
        self.workspaceID = workspaceID
        self.queue = queue
        self.runID = runID
        self.stepID = stepID
        self.input = input
        self.output = output
        self.usage = usage
        self.machine = machine
        self.timeoutMilliseconds = timeoutMilliseconds
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.workerID = workerID
    }

    /// The API's job object. The lease token is shown only to the worker that claimed the job
    /// (`showingLeaseToken`): anyone else holding it could complete the job.
    public func json(showingLeaseToken: Bool = false) -> JSON {
        func time(_ stamp: Timestamp?) -> JSON { stamp.map { .string($0.rfc3339) } ?? .null }
        return .object(JSONObject([
            ("id", .string(id)), ("queue", .string(queue)), ("status", .string(machine.status.rawValue)),
            ("run_id", runID.map(JSON.string) ?? .null), ("step_id", stepID.map(JSON.string) ?? .null), ("input", input),
            ("output", output ?? .null), ("error", machine.lastError ?? .null), ("usage", usage ?? .null),
            ("attempts", .int(Int64(machine.attempts))), ("max_attempts", .int(Int64(machine.maxAttempts))),
            ("timeout_ms", .int(timeoutMilliseconds)), ("worker_id", workerID.map(JSON.string) ?? .null),
            ("lease_token", showingLeaseToken ? machine.leaseToken.map(JSON.string) ?? .null : .null),
            ("lease_expires_at", time(machine.leaseExpiresAt)), ("available_at", time(machine.availableAt)),
            ("created_at", time(createdAt)), ("updated_at", time(updatedAt)),
        ]))
    }
}
