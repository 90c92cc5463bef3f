import CSQLite
import Glibc

extension Database {
    /// Copies this database, as of one consistent moment, into a new file at `destination`
    /// with SQLite's online backup API (`sqlite3_backup_*`). Writers on other connections go on
    /// meanwhile: in WAL mode the copy reads a snapshot and blocks nobody.
    ///
    /// An existing database at `destination` is overwritten; a failure removes the partial copy.
    /// The copy is readable by its owner alone (0600): it holds everything the server keeps.
    public func backup(to destination: String) throws(SQLiteError) {
        let source = try connection()
        let fd = open(destination, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0, fchmod(fd, 0o600) == 0 else {
            let error = errno
            if fd >= 0 { Glibc.close(fd) }
            throw SQLiteError(code: SQLITE_CANTOPEN, message: "cannot make \(destination): \(String(cString: strerror(error)))")
        }
        Glibc.close(fd)
        let target = try Database(path: destination, options: DatabaseOptions(durability: .full))
        let targetHandle = try target.connection()
        guard let backup = sqlite3_backup_init(targetHandle, "main", source, "main") else {
            throw SQLiteError(connection: targetHandle, sql: nil)
        }
        // -1: copy every page in one step, holding one read snapshot of the source throughout.
        let stepResult = sqlite3_backup_step(backup, -1)
        let finishResult = sqlite3_backup_finish(backup)
        target.close()
        guard stepResult == SQLITE_DONE, finishResult == SQLITE_OK else {
            for suffix in ["", "-wal", "-shm"] { unlink(destination + suffix) }
            let code = stepResult == SQLITE_DONE ? finishResult : stepResult
            let message = String(cString: sqlite3_errstr(code))
            throw SQLiteError(code: code, message: "backup to \(destination) failed: \(message)")
        }
    }
}
