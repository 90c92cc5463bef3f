import TroupeCore

/// One step of a workflow (API.md, Workflows): what it needs first, how long and how often it
/// may run, and what its kind runs. Built only by ``WorkflowParser``, so a value is valid.
public struct WorkflowStep: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case task
        case approval
        case sandbox
        case wait
    }

    /// The fields of each kind.
    public enum Work: Sendable, Equatable {
        /// A job in `queue` for a worker, carrying `input`.
        case task(queue: String, input: JSONObject)
        /// A person of one of `approvers` approves or rejects.
        case approval(approvers: [Role])
        /// The server runs `argv` in a fresh sandbox; `resourceLimits` holds the integers given.
        case sandbox(argv: [String], resourceLimits: JSONObject)
        /// A durable timer.
        case wait(durationMilliseconds: Int64)
    }

    /// A task's or sandbox step's attempt without `timeout_ms`. Approval (and later signal)
    /// steps have no default: without one they wait until the run ends.
    public static let defaultTimeoutMilliseconds: Int64 = 600_000
    public static let defaultMaxAttempts = 3
    public static let defaultQueue = "default"
    public static let defaultApprovers: [Role] = [.owner, .admin]

    public let id: String
    public let needs: [String]
    /// An attempt's limit (task, sandbox: always set), or an approval's deadline from its start (nil: none).
    public let timeoutMilliseconds: Int64?
    public let maxAttempts: Int
    public let work: Work

    /// How long an attempt of a task or sandbox step may take.
    public var attemptTimeoutMilliseconds: Int64 { timeoutMilliseconds ?? Self.defaultTimeoutMilliseconds }

    public var kind: Kind {
        switch work {
        case .task: .task
        case .approval: .approval
        case .sandbox: .sandbox
        case .wait: .wait
        }
    }

    /// The step with every default filled in, as the API returns it and the store keeps it.
    public var json: JSON {
        var object = JSONObject([
            ("id", .string(id)), ("kind", .string(kind.rawValue)), ("needs", .array(needs.map(JSON.string))),
            ("timeout_ms", timeoutMilliseconds.map(JSON.int) ?? .null), ("max_attempts", .int(Int64(maxAttempts))),
        ])
        switch work {
        case .task(let queue, let input):
            object["queue"] = .string(queue)
            object["input"] = .object(input)
        case .approval(let approvers):
            object["approvers"] = .array(approvers.map { .string($0.rawValue) })
        case .sandbox(let argv, let limits):
            object["argv"] = .array(argv.map(JSON.string))
            object["resource_limits"] = .object(limits)
        case .wait(let duration):
            object["duration_ms"] = .int(duration)
        }
        return .object(object)
    }
}
