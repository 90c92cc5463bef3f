import CSQLite

extension Database {
    /// How hard a checkpoint tries (`sqlite3_wal_checkpoint_v2`).
    public enum CheckpointMode: Sendable {
        /// Copy what can be copied without waiting for readers or writers.
        case passive
        /// Wait for writers, then copy everything, and reset the WAL for the next writer.
        case truncate

        var code: Int32 { self == .passive ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_TRUNCATE }
    }

    /// Copies frames from the WAL into the database file; returns the WAL's size in frames and
    /// how many of them are now in the database file.
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive) throws(SQLiteError) -> (walFrames: Int, checkpointed: Int) {
        let connection = try connection()
        var walFrames: Int32 = 0
        var checkpointed: Int32 = 0
        guard sqlite3_wal_checkpoint_v2(connection, nil, mode.code, &walFrames, &checkpointed) == SQLITE_OK else {
            throw SQLiteError(connection: connection, sql: "checkpoint")
        }
        return (Int(walFrames), Int(checkpointed))
    }

    /// Calls `handler` with the WAL's size in pages after every commit on this connection;
    /// when it returns true, a passive checkpoint runs right there, inside the commit.
    ///
    /// This replaces SQLite's automatic checkpoint (`wal_autocheckpoint`), which uses the same
    /// hook: the handler decides when and where checkpoints happen.
    public func onWALCommit(_ handler: @escaping (Int) -> Bool) throws(SQLiteError) {
        let connection = try connection()
        let box = WALHookBox(handler)
        walHook = box
        sqlite3_wal_hook(connection, walHookTrampoline, Unmanaged.passUnretained(box).toOpaque())
    }
}

/// The Swift handler behind a connection's WAL hook; the ``Database`` keeps it alive.
final class WALHookBox {
    let handler: (Int) -> Bool
    init(_ handler: @escaping (Int) -> Bool) { self.handler = handler }
}

/// `sqlite3_wal_hook`'s C callback: "invoked by SQLite after the commit has taken place and the
/// associated write-lock on the database released" (sqlite.org/c3ref/wal_hook.html).
private let walHookTrampoline: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    context, connection, _, pages in
    guard let context else { return SQLITE_OK }
    let box = Unmanaged<WALHookBox>.fromOpaque(context).takeUnretainedValue()
    if box.handler(Int(pages)) {
        sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
    }
    return SQLITE_OK
}
