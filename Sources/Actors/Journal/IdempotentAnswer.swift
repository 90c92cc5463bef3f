import Synchronization
import TroupePersistence

/// The answer to a request's `Idempotency-Key`, written by the journal in the transaction of the
/// first change the request commits, so that a crash can lose both (the retry then runs again)
/// but never keep the resource without its answer (the retry would create a second one).
///
/// The server supplies the write (it owns the answer's rendering and table). Only the first
/// change that commits takes it: a request making several changes keeps one answer.
public final class IdempotentAnswer: Sendable {
    let write: @Sendable (Database) throws -> Void
    /// 0: not yet taken; 1: taken by a change in flight; 2: committed with it.
    private let stage = Atomic<Int>(0)

    public init(_ write: @escaping @Sendable (Database) throws -> Void) {
        self.write = write
    }

    /// Whether the change that took it has committed.
    public var committed: Bool { stage.load(ordering: .acquiring) == 2 }

    /// Whether the asking change takes it: the first that asks (again after ``release()``).
    func take() -> Bool {
        stage.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged
    }

    func markCommitted() { stage.store(2, ordering: .releasing) }

    /// The change that took it failed: the request's next change may take it.
    func release() { stage.store(0, ordering: .releasing) }
}
