import Synchronization

/// The event bytes every stream's catch-up may hold at once, across the server: a stream
/// reserves a page's worth before it reads one and gives it back once the page is written.
/// Past the budget a catch-up waits for room rather than reading, so a crowd of streams that
/// resume before large events (and may never read) holds a bounded amount of memory.
final class EventBytesBudget: Sendable {
    /// Bytes not reserved now.
    private let left: Mutex<Int>
    let total: Int

    /// How long a catch-up waits between two looks for room.
    static let retry: Duration = .milliseconds(20)

    init(total: Int = 256 << 20) {
        self.total = total
        left = Mutex(total)
    }

    /// Runs `body` holding `bytes` of the budget (waiting for them first); cancellable.
    func holding<T: Sendable>(_ bytes: Int, _ body: () async throws -> T) async throws -> T {
        while !left.withLock({ left in
            guard left >= bytes else { return false }
            left -= bytes
            return true
        }) {
            try await Task.sleep(for: Self.retry)
        }
        defer { left.withLock { $0 += bytes } }
        return try await body()
    }
}
