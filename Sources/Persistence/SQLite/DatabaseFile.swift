import Glibc

/// The database's path on disk, checked before anything touches it, and opened for reading
/// without writing anything beside it.
public enum DatabaseFile {
    /// Why a path cannot be a database here.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Refuses a path that exists and is not a regular file (a directory, a device, a socket, a
    /// link to one): `--db /tmp` must not turn `/tmp` into the server's own 0600 directory.
    /// An absent path is fine (a new database is made there).
    public static func check(_ path: String) throws(Refusal) {
        var status = stat()
        if stat(path, &status) != 0 {
            if errno == ENOENT { return }
            throw Refusal(message: "cannot use \(path) as the database: \(String(cString: strerror(errno)))")
        }
        let type = status.st_mode & S_IFMT
        guard type == S_IFREG else {
            let what = type == S_IFDIR ? "a directory" : "not a regular file"
            throw Refusal(message: "\(path) is \(what); --db takes the database file's path (e.g. \(path == "/" ? "" : path)/troupe.db)")
        }
    }

    /// A read-only connection that leaves nothing beside the file and works on read-only media:
    /// with no `-wal` and `-shm` beside it (no server has it open, and the last one closed
    /// cleanly) it is opened immutable, taking no lock and making no file; otherwise (a server
    /// runs on it, or one crashed) read-only through the files already there.
    public static func openForReading(_ path: String) throws(SQLiteError) -> Database {
        let quiet = access(path + "-wal", F_OK) != 0 && access(path + "-shm", F_OK) != 0
        return try Database(path: path, options: DatabaseOptions(readOnly: true, immutable: quiet))
    }
}
