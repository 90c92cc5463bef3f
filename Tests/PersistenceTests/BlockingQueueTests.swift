import Foundation
import Testing

@testable import TroupePersistence

@Suite(.timeLimit(.minutes(5)))
struct BlockingQueueTests {
    /// Runs `body` on a plain thread (consumers block; the cooperative pool must not).
    private func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    @Test func aSpinningConsumerTakesWhatIsPushedWhileItSpins() async {
        let queue = BlockingQueue<Int>(capacity: 8)
        async let taken = onThread { queue.takeBatch(max: 4, spin: .seconds(5)) }
        try? await Task.sleep(for: .milliseconds(20))
        #expect(queue.push(7) == .accepted)
        #expect(await taken == [7])
    }

    @Test func aConsumerThatSpunOutSleepsUntilAnItemComes() async {
        let queue = BlockingQueue<Int>(capacity: 8)
        async let taken = onThread { queue.takeBatch(max: 4, spin: .microseconds(50)) }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(queue.push(1) == .accepted)
        #expect(queue.push(2) == .accepted)
        let batch = await taken
        #expect(batch == [1] || batch == [1, 2])
    }

    @Test func closingEndsASpinningConsumerOnceItsBudgetIsSpent() async {
        let queue = BlockingQueue<Int>(capacity: 8)
        async let taken = onThread { queue.takeBatch(max: 4, spin: .milliseconds(20)) }
        queue.close()
        #expect(await taken == nil)
    }

    @Test func itemsPutBackAreTakenFirst() {
        let queue = BlockingQueue<Int>(capacity: 8)
        #expect(queue.push(3) == .accepted)
        queue.pushFront([1, 2])
        #expect(queue.count == 3)
        #expect(queue.takeBatch(max: 8, spin: .microseconds(10)) == [1, 2, 3])
        #expect(queue.count == 0)
    }

    @Test func deferredItemsWaitBehindTheOthersWithoutStarving() {
        let queue = BlockingQueue<Int>(capacity: 32)
        for item in 100..<110 { #expect(queue.push(item, deferred: true) == .accepted) }
        for item in 0..<8 { #expect(queue.push(item) == .accepted) }
        // Eight others, then two deferred ones (a quarter of them), in order.
        #expect(queue.takeBatch(max: 64) == Array(0..<8) + [100, 101])
        // One other still takes one deferred item with it.
        #expect(queue.push(8) == .accepted)
        #expect(queue.takeBatch(max: 64) == [8, 102])
        // With none of the others queued, the deferred lane is taken up to the batch's size.
        #expect(queue.takeBatch(max: 4) == [103, 104, 105, 106])
        #expect(queue.count == 3)
        // Both lanes count against the capacity.
        for item in 0..<29 { #expect(queue.push(item) == .accepted) }
        #expect(queue.push(99, deferred: true) == .full)
        #expect(queue.push(99) == .full)
    }
}
