import Synchronization

/// The bytes a server holds for request bodies that have not arrived whole, across all its
/// connections. Each connection's body is bounded by the body limit; this bounds their sum, so
/// that many slow uploads together cannot exhaust memory (API.md: 503 past the bound).
final class BodyBufferBudget: Sendable {
    let capacity: Int
    private let used = Atomic<Int>(0)

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Takes `count` bytes of the budget; false (taking nothing) when that would pass it.
    func reserve(_ count: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard count <= capacity - current else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + count, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back `count` bytes taken by ``reserve(_:)``.
    func release(_ count: Int) {
        if count > 0 { used.subtract(count, ordering: .relaxed) }
    }

    /// Bytes taken now.
    var inUse: Int { used.load(ordering: .relaxed) }
}
