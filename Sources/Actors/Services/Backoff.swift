/// How long to wait before retrying failed background work: doubling from `initial` up to
/// `maximum`, back to `initial` after a success.
public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public private(set) var next: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
        next = initial
    }

    /// The delay before the next attempt after a failure (and doubles the one after).
    public mutating func failed() -> Duration {
        defer { next = min(maximum, next * 2) }
        return next
    }

    public mutating func succeeded() { next = initial }
}
