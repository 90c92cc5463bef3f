import Glibc

/// The few file operations cgroupfs needs besides ``KernelFile/read(_:)``: single writes whose
/// error is the kernel's answer (EBUSY, EINVAL), and directories.
enum CgroupFiles {
    /// Writes `text` in one call.
    static func write(_ path: String, _ text: String) throws(SystemCallError) {
        if case .failure(let error) = attempt(path, text) { throw error }
    }

    /// Writes `text` in one call; the kernel's refusal as a value.
    static func attempt(_ path: String, _ text: String) -> Result<Void, SystemCallError> {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(SystemCallError(call: "open \(path)", errno: errno)) }
        defer { close(fd) }
        let written = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == text.utf8.count else { return .failure(SystemCallError(call: "write \(path)", errno: written < 0 ? errno : EIO)) }
        return .success(())
    }

    /// Makes the directory unless it is there.
    static func makeDirectory(_ path: String) throws(SystemCallError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SystemCallError(call: "mkdir \(path)", errno: errno) }
    }

    /// Whether the file exists (a controller's optional file, such as `memory.swap.max`).
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The group this process is in, as `/proc/self/cgroup` (`membership`) names it: the v2
    /// line's (`0::/path`) when `controller` is nil, else the v1 line listing `controller`.
    static func ownPath(_ membership: String, controller: String?) -> String? {
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if let controller {
                if fields[1].split(separator: ",").contains(Substring(controller)) { return String(fields[2]) }
            } else if fields[0] == "0" && fields[1].isEmpty {
                return String(fields[2])
            }
        }
        return nil
    }
}
