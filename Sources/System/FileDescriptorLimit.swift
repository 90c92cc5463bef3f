import Glibc

/// The process's limit on open file descriptors (RLIMIT_NOFILE), which caps its connections.
public enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit (the most an unprivileged process may take) and
    /// returns the soft limit now in force; when the limit cannot be read, 1024 (the usual
    /// default) is assumed.
    @discardableResult
    public static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // RLIM_INFINITY and anything past Int fit as Int.max.
        return Int(exactly: limit.rlim_cur) ?? Int.max
    }

    /// The connections a server may hold under the raised limit, keeping `reserved`
    /// descriptors for everything else (database files, the event loops, logs).
    public static func connectionCap(reserving reserved: Int = 256) -> Int {
        let soft = raiseToHard()
        return max(16, soft > reserved * 2 ? soft - reserved : soft / 2)
    }
}
