import Synchronization

/// When a run ends, once its clock has started.
final class RunEnd: Sendable {
    private let value = Mutex<ContinuousClock.Instant?>(nil)

    var instant: ContinuousClock.Instant? { value.withLock { $0 } }

    func set(_ instant: ContinuousClock.Instant) { value.withLock { $0 = instant } }
}
