import Synchronization
import Testing
import TroupeSystem

/// The loop runs jobs of deferred-priority tasks after the others, and waiting for such a task
/// through a continuation does not raise its priority (what the server's fair share relies on).
@Suite(.timeLimit(.minutes(5)))
struct EventLoopPriorityTests {
    @Test func deferredJobsRunAfterTheOthersQueuedWithThem() async throws {
        let loop = try EventLoop()
        let order = Shared<[String]>([])
        let tasks = await Task(executorPreference: loop, priority: .medium) {
            // All queued while this job holds the loop, alternating, deferred first.
            (0..<8).flatMap { index in [
                Task(executorPreference: loop, priority: EventLoop.deferredPriority) { order.value.withLock { $0.append("deferred \(index)") } },
                Task(executorPreference: loop, priority: .medium) { order.value.withLock { $0.append("normal \(index)") } },
            ] }
        }.value
        for task in tasks { await task.value }
        let ran = order.value.withLock { $0 }
        #expect(ran.count == 16)
        // The round that queued them lets one deferred job run; the rest wait for the others.
        #expect(ran.prefix(9).filter { $0.hasPrefix("normal") } == (0..<8).map { "normal \($0)" })
        #expect(ran.filter { $0.hasPrefix("deferred") } == (0..<8).map { "deferred \($0)" })
        await loop.stop()
    }

    @Test func aDeferredTaskKeepsItsPriorityWhileAHigherOneWaitsForIt() async throws {
        let loop = try EventLoop()
        let seen = await Task(executorPreference: loop, priority: .high) {
            await withCheckedContinuation { continuation in
                Task(executorPreference: loop, priority: EventLoop.deferredPriority) {
                    for _ in 0..<20 { await Task.yield() }
                    continuation.resume(returning: Task.currentPriority)
                }
            }
        }.value
        #expect(seen == EventLoop.deferredPriority)
        await loop.stop()
    }

    @Test func deferredJobsStillRunBesideAStreamOfOtherWork() async throws {
        let loop = try EventLoop()
        let deferredDone = Shared(false)
        let normalRuns = Shared(0)
        await withTaskExecutorPreference(loop) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask(priority: EventLoop.deferredPriority) {
                    for _ in 0..<50 { await Task.yield() }
                    deferredDone.value.withLock { $0 = true }
                }
                // Normal work that keeps the loop's queue busy until the deferred task is done.
                group.addTask(priority: .medium) {
                    while !deferredDone.value.withLock({ $0 }), normalRuns.value.withLock({ $0 }) < 1_000_000 {
                        normalRuns.value.withLock { $0 += 1 }
                        await Task.yield()
                    }
                }
            }
        }
        let done = deferredDone.value.withLock { $0 }
        let runs = normalRuns.value.withLock { $0 }
        #expect(done)
        #expect(runs < 1_000_000)
        await loop.stop()
    }
}

/// A value the test's tasks share.
private final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>

    init(_ initial: Value) { value = Mutex(initial) }
}
