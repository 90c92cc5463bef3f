/// One change of state, committed whole by the ``Journal``: who asked (``ChangeOrigin``), the
/// row writes, and the events they cause (recorded on the ``JournalTransaction`` by `write`).
/// `write` may run more than once (the writer retries a batch SQLite aborted), so it touches
/// only the database and returns what the caller needs from it.
public struct Change<Result: Sendable>: Sendable {
    public var origin: ChangeOrigin
    public var write: @Sendable (JournalTransaction) throws -> Result

    public init(_ origin: ChangeOrigin, write: @escaping @Sendable (JournalTransaction) throws -> Result) {
        self.origin = origin
        self.write = write
    }
}
