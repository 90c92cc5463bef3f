import Dispatch

/// Runs blocking system calls (a resolver, a walk of a directory tree, waiting for the kernel
/// to let a group go) off Swift's cooperative pool, whose few threads the requests need.
public enum BlockingWork {
    /// `body`'s result, computed on a global dispatch queue of `qos`.
    public static func run<T: Sendable>(qos: DispatchQoS.QoSClass = .utility, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: qos).async { continuation.resume(returning: body()) }
        }
    }
}
