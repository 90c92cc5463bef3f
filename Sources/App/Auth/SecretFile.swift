import Glibc
import TroupeActors
import TroupeCore

/// The signing secret the server generates when `TROUPE_SECRET` is unset, kept in a 0600 file
/// beside the database (`<database>.secret`), not in it: a copy of the database alone (a
/// backup, a stolen file) forges no token and opens no sealed idempotent answer.
enum SecretFile {
    /// The bytes a secret file holds: 32 random bytes.
    static let length = 32

    /// Why the secret could not be had.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func path(forDatabase database: String) -> String { database + ".secret" }

    /// The secret beside `database`: read from its file; else the one an earlier server kept in
    /// the database, moved out (written to the file and synced, then deleted from the database);
    /// else a new one.
    static func load(database: String, accounts: AccountStore) async throws -> [UInt8] {
        let path = path(forDatabase: database)
        if let existing = try read(path) { return existing }
        let secret = try await accounts.storedSigningSecret() ?? SecretGenerator.bytes(length)
        try write(secret, to: path)
        try await accounts.forgetStoredSigningSecret()
        return secret
    }

    /// The file's bytes, or nil when there is none; a file others may read is refused.
    private static func read(_ path: String) throws(Failure) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw Failure(description: "cannot read the secret file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { throw Failure(description: "\(path) is not a regular file") }
        guard status.st_mode & 0o077 == 0 else {
            throw Failure(description: "the secret file \(path) may be read by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = Glibc.read(fd, &bytes, bytes.count)
        guard count >= 32 else { throw Failure(description: "the secret file \(path) holds fewer than 32 bytes") }
        return Array(bytes[0..<count])
    }

    /// Writes a new secret file (0600, never over an existing one) and syncs it and its
    /// directory, so that it is on disk before the database forgets its copy.
    private static func write(_ secret: [UInt8], to path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create the secret file \(path): \(String(cString: strerror(errno)))") }
        let written = Glibc.write(fd, secret, secret.count)
        let synced = fsync(fd) == 0
        close(fd)
        guard written == secret.count, synced else {
            unlink(path)
            throw Failure(description: "cannot write the secret file \(path)")
        }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}
