import Foundation

/// Runs a blocking call of a test (a socket read, waiting for a child process or its output)
/// on a thread of its own: not on Swift's cooperative pool, which the servers under test need,
/// and not on the global dispatch queues, whose threads (on Linux, about as many as cores)
/// blocked calls elsewhere in the test process can all hold — a block queued behind them then
/// waited a second or more, which timing assertions took for the server's slowness.
public enum BlockingCall {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }
}
