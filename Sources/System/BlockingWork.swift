import Foundation
import Synchronization

/// Threads of the server's own for short blocking system calls (a walk of a sandbox's
/// directory, waiting for the kernel to let a control group go), off Swift's cooperative pool,
/// whose few threads the requests need, and off the global dispatch queues, whose threads
/// blocking work elsewhere in the process can all hold (on Linux, a queued block may then wait
/// a second or more for a new one).
public final class BlockingWork: Sendable {
    /// The process's pool: two threads.
    public static let shared = BlockingWork(threads: 2)

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let waiting = DispatchSemaphore(value: 0)

    private init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "troupe-blocking-\(index)"
            thread.start()
        }
    }

    private func work() {
        while true {
            waiting.wait()
            let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            job?()
        }
    }

    /// `body`'s result, computed on one of the pool's threads.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            shared.jobs.withLock { $0.append { continuation.resume(returning: body()) } }
            shared.waiting.signal()
        }
    }
}
