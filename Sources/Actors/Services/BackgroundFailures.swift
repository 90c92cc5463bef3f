import TroupeCore

/// Failures of background work — a service's pass, a timer that could not fire, a job that
/// could not be handed to its run — each logged (one structured line) and counted by task for
/// `/metrics`, then retried by whoever failed. Nothing in the background fails silently.
public final class BackgroundFailures: Sendable {
    private let logger: Logger
    private let counts = LockedBox([String: Int]())

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Logs and counts a failure of `task` (one of the server's own names, never input).
    public func record(_ task: String, _ error: any Error) {
        counts.withLock { $0[task, default: 0] += 1 }
        logger.log(.error, "background.failed", [("task", .string(task)), ("error", .string(String(describing: error)))])
    }

    /// Failures so far, by task.
    public var byTask: [String: Int] { counts.value }
}
