/// A source of the current UTC time that can also wait for a moment to come.
///
/// Code that keeps durable timers (leases, `wait` steps, daily quotas) takes a `WallClock`, so
/// tests drive time with ``ManualClock`` and production uses ``SystemClock``.
public protocol WallClock: Sendable {
    /// The current instant.
    var now: Timestamp { get }

    /// Returns once `deadline` has come; throws `CancellationError` if the task is cancelled first.
    func sleep(until deadline: Timestamp) async throws
}

extension WallClock {
    /// Waits for `duration` from now.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now + duration)
    }
}
