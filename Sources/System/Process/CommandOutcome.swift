/// How a command ended, and what it wrote.
public struct CommandOutcome: Sendable, Equatable {
    /// The exit code, when it exited; `nil` when a signal ended it.
    public var exitCode: Int?
    /// The signal that ended it (`SIGKILL` is 9), when one did.
    public var signal: Int?
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// Either stream reached the cap: the rest was not read (the pipe was closed, so a writer
    /// that went on got `SIGPIPE`).
    public var truncated: Bool
    /// The wall-clock timeout stopped it.
    public var timedOut: Bool
    /// It was stopped before it ended by itself: timeout, or ``RunningCommand/terminate()``.
    public var stopped: Bool
    public var duration: Duration
    /// The command never ran: why (`execve failed: No such file or directory`, …).
    public var failure: String?
    /// A bound of its sandbox the command passed (the disk it may fill), as stderr's last line says.
    public var passedBound: String?

    public init(exitCode: Int?, signal: Int?, stdout: [UInt8], stderr: [UInt8], truncated: Bool,
                timedOut: Bool, stopped: Bool, duration: Duration, failure: String?) {
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated
        self.timedOut = timedOut
        self.stopped = stopped
        self.duration = duration
        self.failure = failure
    }
}
