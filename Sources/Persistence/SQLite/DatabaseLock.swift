import Glibc

/// The one owner of a database file: an exclusive `flock` on `<database>.lock`, held as long as
/// the value lives. Two servers on one file would break exact limits, fencing tokens and the
/// audit chain's order, so a second one is refused, naming the first's pid (written in the
/// lock file by its holder).
public final class DatabaseLock: Sendable {
    private let fd: Int32
    /// The lock file's path.
    public let path: String

    /// Takes the lock of the database at `databasePath`, or throws naming who holds it.
    public init(databasePath: String) throws(DatabaseFile.Refusal) {
        path = databasePath + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw DatabaseFile.Refusal(message: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.pid(in: fd)
            close(fd)
            throw DatabaseFile.Refusal(message: "another troupe process\(holder.map { " (pid \($0))" } ?? "") already has the database "
                + "\(databasePath) open; stop it first (its lock: \(path))")
        }
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) != 0 || pwrite(fd, text, text.count, 0) != text.count {
            let error = errno
            close(fd)
            throw DatabaseFile.Refusal(message: "cannot write the lock file \(path): \(String(cString: strerror(error)))")
        }
        self.fd = fd
    }

    /// Lets the database go (the server has closed it); the descriptor closes with the value.
    public func release() { flock(fd, LOCK_UN) }

    deinit { close(fd) }

    /// The pid the holder wrote, if it reads as one.
    private static func pid(in fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
