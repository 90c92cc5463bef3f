import Synchronization

/// A `Mutex`-guarded value shared by reference: `Mutex` itself cannot be copied, so it cannot be
/// stored in a struct or captured by an escaping closure; this class can.
///
/// `withLock` is inlinable so that callers in other modules get it specialized for their value
/// type: unspecialized, every call looked up generic metadata at run time (measured 3.5 % of an
/// authenticated request).
public final class LockedBox<Value: Sendable>: Sendable {
    @usableFromInline let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    @inlinable
    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }

    @inlinable
    public var value: Value { mutex.withLock { $0 } }
}
