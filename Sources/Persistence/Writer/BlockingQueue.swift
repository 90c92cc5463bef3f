import Foundation
import Synchronization

/// A bounded FIFO handed from async callers to dedicated threads.
///
/// Producers never block: ``push(_:)`` fails at once when the queue is full or closed.
/// Consumers are plain threads (never the cooperative pool) that block in ``takeBatch(max:)``
/// until work arrives. After ``close()`` the remaining items are still handed out; then the
/// consumers get nil and stop.
final class BlockingQueue<Element: Sendable>: Sendable {
    /// What became of a pushed item.
    enum Admission {
        case accepted
        case full
        case closed
    }

    private struct State {
        var items: [Element] = []
        var head = 0
        var closed = false
        var count: Int { items.count - head }
    }

    let capacity: Int
    private let condition = NSCondition()
    /// Items queued, readable without the lock so an idle consumer can spin on it.
    private let queued = Atomic<Int>(0)
    /// Whether a consumer is spinning; one at a time, so spinners never take every core.
    private let spinning = Atomic<Bool>(false)
    /// Guarded by `condition`. `NSCondition` is the lock; `Mutex` is not used here because
    /// waiting needs a condition variable bound to the same lock.
    private nonisolated(unsafe) var state = State()

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Appends `item`, or refuses it at once when the queue is full or closed.
    func push(_ item: Element) -> Admission {
        condition.lock()
        defer { condition.unlock() }
        guard !state.closed else { return .closed }
        guard state.count < capacity else { return .full }
        state.items.append(item)
        queued.add(1, ordering: .releasing)
        condition.signal()
        return .accepted
    }

    /// Puts `items` back at the front, ahead of everything queued (capacity is not checked:
    /// they were admitted once already).
    func pushFront(_ items: [Element]) {
        guard !items.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        state.items.replaceSubrange(0..<state.head, with: items)
        state.head = 0
        queued.add(items.count, ordering: .releasing)
        condition.signal()
    }

    /// Blocks until at least one item is queued, then takes up to `max` of them in order.
    /// Returns nil once the queue is closed and empty.
    ///
    /// With a `spin` budget an idle consumer first polls for that long before it sleeps: waking
    /// a sleeping thread costs tens of microseconds here, more than a point read itself, so a
    /// consumer that was just busy stays awake briefly for the next item. Only one consumer
    /// spins at a time; the others sleep at once.
    func takeBatch(max: Int, spin: Duration = .zero) -> [Element]? {
        if spin > .zero, queued.load(ordering: .acquiring) == 0,
           spinning.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            spinWhileEmpty(for: spin)
            spinning.store(false, ordering: .releasing)
        }
        condition.lock()
        defer { condition.unlock() }
        while state.count == 0 {
            if state.closed { return nil }
            condition.wait()
        }
        let end = state.head + min(max, state.count)
        let batch = Array(state.items[state.head..<end])
        queued.subtract(end - state.head, ordering: .relaxed)
        state.head = end
        if state.head == state.items.count {
            state.items.removeAll(keepingCapacity: true)
            state.head = 0
        } else {
            if state.head > 1024, state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            condition.signal()  // more work is queued: wake another consumer
        }
        return batch
    }

    private func spinWhileEmpty(for budget: Duration) {
        let deadline = ContinuousClock.now + budget
        var polls = 0
        while queued.load(ordering: .acquiring) == 0 {
            polls += 1
            // Reading the clock costs more than a poll; look at it every 64th time.
            if polls & 63 == 0, ContinuousClock.now >= deadline { return }
        }
    }

    /// Refuses new items; consumers drain what is queued, then get nil.
    func close() {
        condition.lock()
        state.closed = true
        condition.broadcast()
        condition.unlock()
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return state.count
    }
}
