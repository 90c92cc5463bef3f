import Glibc

/// A cgroup filesystem mounted here, as `/proc/self/mountinfo` tells it.
struct CgroupMount: Sendable, Equatable {
    /// Where it is mounted.
    let mountPoint: String
    /// The group at that point (not `/` inside a cgroup namespace's view of a larger tree).
    let root: String
    /// Whether it is the v2 (unified) hierarchy.
    let isUnified: Bool
    /// A v1 hierarchy's controllers (`memory`, `pids`, …); empty for v2.
    let controllers: Set<String>

    /// The directory of the group at `path` (as `/proc/self/cgroup` names it) in this mount.
    func directory(of path: String) -> String {
        var relative = Substring(path)
        if root != "/", relative.hasPrefix(root) { relative = relative.dropFirst(root.count) }
        let trimmed = relative.drop { $0 == "/" }
        return trimmed.isEmpty ? mountPoint : "\(mountPoint)/\(trimmed)"
    }

    /// Every cgroup mount of this process's mount namespace.
    static func all() -> [CgroupMount] {
        (KernelFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { parse(String($0)) }
    }

    /// One mountinfo line: `id parent dev root mountpoint options [tags…] - fstype source superoptions`.
    static func parse(_ line: String) -> CgroupMount? {
        let fields = line.split(separator: " ").map(String.init)
        guard fields.count > 6, let dash = fields.firstIndex(of: "-"), dash + 3 < fields.count else { return nil }
        let type = fields[dash + 1]
        guard type == "cgroup" || type == "cgroup2" else { return nil }
        let options = Set(fields[dash + 3].split(separator: ",").map(String.init))
        return CgroupMount(mountPoint: unescaped(fields[4]), root: unescaped(fields[3]), isUnified: type == "cgroup2",
                           controllers: type == "cgroup2" ? [] : options)
    }

    /// mountinfo writes a space, tab, newline and backslash in a path as octal escapes (`\040`).
    private static func unescaped(_ field: String) -> String {
        var bytes: [UInt8] = []
        var source = Array(field.utf8)[...]
        while let byte = source.popFirst() {
            if byte == UInt8(ascii: "\\"), source.count >= 3,
               let value = UInt8(String(decoding: source.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                source = source.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
