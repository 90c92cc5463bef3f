import Foundation
import Glibc

/// Kills what a previous server's sandboxes left running (its launchers die with it, by their
/// parent-death signal; their commands with them; this finds the rest).
public enum ProcessSweep {
    /// SIGKILLs every process whose real uid is one of `users` (the uids of the sandboxes a
    /// previous server left live: another server's, on other uids, are not touched), and every member of the process
    /// groups `groups` whose leader is gone (a leader alive means the id names a new group).
    /// Returns how many it signalled; throws only when /proc cannot be listed.
    @discardableResult
    public static func kill(users: Set<UInt32>, groups: Set<Int32>) throws -> Int {
        let own = getpid()
        var signalled = 0
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry), pid != own else { continue }
            let (uid, group) = identity(of: pid)
            let inRange = uid.map(users.contains) ?? false
            let inGroup = group.map { groups.contains($0) && $0 != pid && Glibc.kill($0, 0) != 0 } ?? false
            if inRange || inGroup, Glibc.kill(pid, SIGKILL) == 0 { signalled += 1 }
        }
        return signalled
    }

    /// The real uid and process group of `pid`, from /proc (nil where it is gone).
    static func identity(of pid: Int32) -> (uid: UInt32?, group: Int32?) {
        let status = FileManager.default.contents(atPath: "/proc/\(pid)/status").map { String(decoding: $0, as: UTF8.self) }
        let uid = status?.split(separator: "\n").first { $0.hasPrefix("Uid:") }
            .flatMap { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first }.flatMap { UInt32($0) }
        let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat").map { String(decoding: $0, as: UTF8.self) }
        let afterName = stat.flatMap { text in text.lastIndex(of: ")").map { text[text.index(after: $0)...] } }
        let group = afterName.flatMap { $0.split(separator: " ").dropFirst(2).first }.flatMap { Int32($0) }
        return (uid, group)
    }
}
