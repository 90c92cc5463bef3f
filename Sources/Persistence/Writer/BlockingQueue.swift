import Foundation
import Synchronization

/// A bounded FIFO handed from async callers to dedicated threads.
///
/// Producers never block: ``push(_:)`` fails at once when the queue is full or closed.
/// Consumers are plain threads (never the cooperative pool) that block in ``takeBatch(max:)``
/// until work arrives. After ``close()`` the remaining items are still handed out; then the
/// consumers get nil and stop.
///
/// An item pushed as deferred (the work of a workspace past its fair share) waits in a lane of
/// its own: a batch takes the other items first and, while there are any, deferred ones only up
/// to a quarter of them (at least one), so that a flood's backlog neither delays the others'
/// items nor starves.
final class BlockingQueue<Element: Sendable>: Sendable {
    /// What became of a pushed item.
    enum Admission {
        case accepted
        case full
        case closed
    }

    /// One lane of items in order: an array whose taken front is dropped now and then.
    private struct Lane {
        var items: [Element] = []
        var head = 0
        var count: Int { items.count - head }

        mutating func take(_ limit: Int, into batch: inout [Element]) {
            let end = head + min(limit, count)
            batch.append(contentsOf: items[head..<end])
            head = end
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
        }
    }

    private struct State {
        var lane = Lane()
        var deferred = Lane()
        var closed = false
        var count: Int { lane.count + deferred.count }
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

    /// Appends `item` (to the deferred lane when `deferred`), or refuses it at once when the
    /// queue is full or closed.
    func push(_ item: Element, deferred: Bool = false) -> Admission {
        condition.lock()
        defer { condition.unlock() }
        guard !state.closed else { return .closed }
        guard state.count < capacity else { return .full }
        if deferred { state.deferred.items.append(item) } else { state.lane.items.append(item) }
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
        state.lane.items.replaceSubrange(0..<state.lane.head, with: items)
        state.lane.head = 0
        queued.add(items.count, ordering: .releasing)
        condition.signal()
    }

    /// Blocks until at least one item is queued, then takes up to `max` of them in order, the
    /// deferred lane's after the others (see the type's notes). Returns nil once the queue is
    /// closed and empty.
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
        var batch: [Element] = []
        state.lane.take(max, into: &batch)
        let deferredRoom = batch.isEmpty ? max : Swift.max(1, batch.count / 4)
        state.deferred.take(Swift.min(deferredRoom, max - batch.count), into: &batch)
        queued.subtract(batch.count, ordering: .relaxed)
        if state.count > 0 { condition.signal() }  // more work is queued: wake another consumer
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
