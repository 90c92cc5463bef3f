import Glibc
import TroupeSystem

/// The CPU time and resident memory of a process on this machine, from /proc.
public struct ProcessUsage: Sendable, Equatable {
    /// User plus system CPU seconds since it started.
    public let cpuSeconds: Double
    public let residentBytes: Int

    /// `pid`'s usage now; nil when it is not readable (gone, or another machine's).
    public static func of(pid: Int32) -> ProcessUsage? {
        guard let stat = KernelFile.read("/proc/\(pid)/stat"), let status = KernelFile.read("/proc/\(pid)/status") else { return nil }
        // "pid (comm) state …": fields after the command's closing parenthesis; utime and stime
        // are the 12th and 13th of them.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?
            .split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return ProcessUsage(cpuSeconds: (user + system) / max(ticks, 1), residentBytes: rss * 1024)
    }
}
