import Foundation

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
        condition.signal()
    }

    /// Blocks until at least one item is queued, then takes up to `max` of them in order.
    /// Returns nil once the queue is closed and empty.
    func takeBatch(max: Int) -> [Element]? {
        condition.lock()
        defer { condition.unlock() }
        while state.count == 0 {
            if state.closed { return nil }
            condition.wait()
        }
        let end = state.head + min(max, state.count)
        let batch = Array(state.items[state.head..<end])
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
