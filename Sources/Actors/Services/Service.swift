/// Long-lived work — lease expiry, usage flush, idempotency pruning, gauges, passivation; later
/// the webhook dispatcher and sandbox reaper — run by a ``ServiceSupervisor``.
///
/// `run()` returns when its task is cancelled (the supervisor's stop), never because of a
/// failure: a service logs and counts every error (``BackgroundFailures``) and retries with
/// back-off. A throw out of `run()` is a bug the supervisor reports and recovers from by
/// starting the service again.
public protocol Service: Sendable {
    /// A short stable name: logs, metrics labels, the supervisor's order.
    var name: String { get }
    func run() async throws
}

/// A service that does one pass of work every `interval`: a failed pass is reported, and the
/// next is tried after a back-off (growing while it keeps failing) instead of the interval.
public struct PeriodicService: Service {
    public let name: String
    public let interval: Duration
    private let failures: BackgroundFailures
    private let pass: @Sendable () async throws -> Void

    public init(_ name: String, every interval: Duration, failures: BackgroundFailures, _ pass: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.failures = failures
        self.pass = pass
    }

    public func run() async throws {
        var backoff = Backoff(initial: .milliseconds(100), maximum: max(interval, .seconds(30)))
        while !Task.isCancelled {
            var wait = interval
            do {
                try await pass()
                backoff.succeeded()
            } catch is CancellationError {
                return
            } catch {
                failures.record(name, error)
                wait = min(interval, backoff.failed())
            }
            do { try await Task.sleep(for: wait) } catch { return }  // cancelled: the supervisor stops it
        }
    }
}
