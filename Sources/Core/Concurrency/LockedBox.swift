import Synchronization

/// A `Mutex`-guarded value shared by reference: `Mutex` itself cannot be copied, so it cannot be
/// stored in a struct or captured by an escaping closure; this class can.
public final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }

    public var value: Value { mutex.withLock { $0 } }
}
