import Glibc

/// What a sandbox's directory holds on disk: the blocks of every file and directory in it
/// (a hard-linked file counts once per name), and how many entries there are.
///
/// The walk follows no symbolic link (every step is an `openat` with `O_NOFOLLOW` from its
/// parent's descriptor), goes at most ``maxDepth`` directories deep (deeper ones count as one
/// entry each), and stops at `entryLimit` entries: its cost is bounded whatever a command made.
public struct DirectoryUsage: Sendable, Equatable {
    public var bytes: Int
    public var entries: Int
    /// The walk stopped at its entry limit: there are at least this many.
    public var stoppedAtLimit: Bool

    public static let maxDepth = 64

    /// Measures `path`; nil when it cannot be opened (absent).
    public static func measure(_ path: String, entryLimit: Int) -> DirectoryUsage? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var usage = DirectoryUsage(bytes: 0, entries: 0, stoppedAtLimit: false)
        usage.walk(fd, depth: 0, entryLimit: entryLimit)
        return usage
    }

    /// Adds what the directory `fd` holds (and closes it).
    private mutating func walk(_ fd: Int32, depth: Int, entryLimit: Int) {
        guard let directory = fdopendir(fd) else {
            close(fd)
            return
        }
        defer { closedir(directory) }
        let parent = dirfd(directory)
        while !stoppedAtLimit, let entry = readdir(directory) {
            // The name's bytes as they are (not text: a name need not be UTF-8).
            let (skipped, child) = withUnsafeMutablePointer(to: &entry.pointee.d_name) { raw in
                raw.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: raw.pointee)) { name -> (Bool, Int32) in
                    if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { return (true, -1) }
                    var status = stat()
                    guard fstatat(parent, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return (false, -1) }
                    bytes = bytes.addingReportingOverflow(Int(status.st_blocks) &* 512).partialValue
                    guard status.st_mode & S_IFMT == S_IFDIR, depth + 1 < Self.maxDepth else { return (false, -1) }
                    return (false, openChild(parent, name))
                }
            }
            if skipped { continue }
            entries += 1
            if entries >= entryLimit { stoppedAtLimit = true }
            if child >= 0 { walk(child, depth: depth + 1, entryLimit: entryLimit) }
        }
    }

    /// Opens a subdirectory without following a link; one the command made unreadable to its
    /// owner (the server, in a user namespace) is given its owner's access back first.
    private func openChild(_ parent: Int32, _ name: UnsafePointer<CChar>) -> Int32 {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        let fd = openat(parent, name, flags)
        guard fd < 0, errno == EACCES, fchmodat(parent, name, 0o700, 0) == 0 else { return fd }
        return openat(parent, name, flags)
    }
}
