import Synchronization

/// A change that must commit in the same transaction as another: the first change a task
/// submits while the companion is bound (``GroupCommitWriter/companion``) runs it right after
/// itself, in its own savepoint, so both commit or neither does.
///
/// The server binds one around a create that carries an `Idempotency-Key`: the stored answer
/// then commits with the resource, and no crash can leave a resource whose key has no answer
/// (a retry would create it again).
public final class TransactionCompanion: Sendable {
    let change: @Sendable (Database) throws -> Void
    /// 0: not yet taken; 1: taken by a submitted change; 2: committed with it.
    private let stage = Atomic<Int>(0)

    public init(_ change: @escaping @Sendable (Database) throws -> Void) {
        self.change = change
    }

    /// Whether the change it went with has committed.
    public var committed: Bool { stage.load(ordering: .acquiring) == 2 }

    /// Whether the asking submit takes it: true for the first that asks (and again after a
    /// ``release()``), false while taken or once committed.
    func take() -> Bool {
        stage.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged
    }

    /// The change it went with committed.
    func markCommitted() { stage.store(2, ordering: .releasing) }

    /// The change it went with failed or was rolled back: the next submit may take it again.
    func release() { stage.store(0, ordering: .releasing) }
}
