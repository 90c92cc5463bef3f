import TroupeCore

/// Stored records that could not be read or applied, left alone so that the rest goes on: a
/// run snapshot that does not decode, a job row whose JSON is damaged, a finished job whose run
/// cannot take it in. One poisoned row never stops a start, a sweep or a list.
///
/// Each is counted once by kind (for `/metrics`) and logged once with its id and the reason,
/// however often it is met again; the record itself is kept as it is for an operator.
public final class SetAsideRecords: Sendable {
    private struct State {
        var counts: [String: Int] = [:]
        /// Kind and id of every record met already; bounded, since a damaged file may hold many
        /// (past the bound the memory starts afresh, and a record met again counts again).
        var logged: Set<String> = []
    }

    static let maxRemembered = 10_000

    private let logger: Logger
    private let state = LockedBox(State())

    public init(logger: Logger) {
        self.logger = logger
    }

    /// Sets a record aside: the first time it is met, counts and logs it.
    public func record(kind: String, id: String, reason: String) {
        let key = kind + "/" + id
        let first = state.withLock { state -> Bool in
            guard !state.logged.contains(key) else { return false }
            if state.logged.count >= Self.maxRemembered { state.logged.removeAll(keepingCapacity: true) }
            state.logged.insert(key)
            state.counts[kind, default: 0] += 1
            return true
        }
        if first {
            logger.log(.error, "record.set_aside", [("kind", .string(kind)), ("id", .string(id)), ("reason", .string(reason))])
        }
    }

    /// Records set aside since start, by kind.
    public var counts: [String: Int] { state.value.counts }
}
