import Glibc

/// One sandbox's control group (a directory in each hierarchy of ``SandboxCgroups``): every
/// process of every exec joins it, so `memory_mb` and the process count bound them all together.
public struct SandboxCgroup: Sendable, Equatable {
    let version: SandboxCgroups.Version
    /// v2: the group; v1: the memory group, then the pids group.
    public let directories: [String]

    /// Makes the group (or finds it, after a restart) and sets its bounds: `memoryBytes` of
    /// memory with no swap beyond it, and at most `processes` processes.
    public func create(memoryBytes: Int, processes: Int) throws(SystemCallError) {
        for directory in directories { try CgroupFiles.makeDirectory(directory) }
        let memory = directories[0]
        switch version {
        case .v2:
            try CgroupFiles.write("\(memory)/memory.max", "\(memoryBytes)")
            if CgroupFiles.exists("\(memory)/memory.swap.max") { try CgroupFiles.write("\(memory)/memory.swap.max", "0") }
            try CgroupFiles.write("\(memory)/pids.max", "\(processes)")
        case .v1:
            try CgroupFiles.write("\(memory)/memory.limit_in_bytes", "\(memoryBytes)")
            // memory+swap may not go below memory alone, so it is set after it.
            if CgroupFiles.exists("\(memory)/memory.memsw.limit_in_bytes") {
                try CgroupFiles.write("\(memory)/memory.memsw.limit_in_bytes", "\(memoryBytes)")
            }
            try CgroupFiles.write("\(directories[1])/pids.max", "\(processes)")
        }
    }

    /// The `cgroup.procs` files the launcher writes itself into, opened for it (the caller
    /// closes them once the launcher is started).
    func openMembership() throws(SystemCallError) -> [Int32] {
        var opened: [Int32] = []
        for directory in directories {
            let fd = open("\(directory)/cgroup.procs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = SystemCallError(call: "open \(directory)/cgroup.procs", errno: errno)
                for fd in opened { close(fd) }
                throw error
            }
            opened.append(fd)
        }
        return opened
    }

    /// The processes in the group now.
    public var members: [Int32] {
        (KernelFile.read("\(directories[0])/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// The most memory the group has held, in bytes (nil where the kernel does not say).
    public var peakMemoryBytes: Int? {
        let file = version == .v2 ? "memory.peak" : "memory.max_usage_in_bytes"
        return KernelFile.read("\(directories[0])/\(file)").flatMap { Int($0.filter { !$0.isWhitespace }) }
    }

    /// How many times the group ran out of memory and had a process killed for it.
    public var outOfMemoryKills: Int {
        let file = version == .v2 ? "memory.events" : "memory.oom_control"
        let text = KernelFile.read("\(directories[0])/\(file)") ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// Kills whatever is left in the group and removes it; waits up to `patience` for the
    /// kernel to let the processes go. Absent already is success.
    public func remove(patience: Duration = .seconds(2)) throws(SystemCallError) {
        let deadline = ContinuousClock.now + patience
        for directory in directories.reversed() {
            while true {
                for pid in members {
                    kill(pid, SIGKILL)
                    ProcessPriority.raiseToExit(pid: pid)
                }
                if rmdir(directory) == 0 || errno == ENOENT { break }
                guard errno == EBUSY, ContinuousClock.now < deadline else {
                    throw SystemCallError(call: "rmdir \(directory)", errno: errno)
                }
                usleep(10_000)
            }
        }
    }
}
