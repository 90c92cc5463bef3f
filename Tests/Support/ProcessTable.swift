import Foundation

/// What `/proc` shows of this machine's processes, for the tests that check nothing of a
/// sandbox outlived it.
public enum ProcessTable {
    /// Pids whose command line (NUL-separated arguments, as one string) `matches`.
    public static func pids(commandLine matches: (String) -> Bool) -> [Int] {
        allPids().filter { pid in
            FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { matches(String(decoding: $0, as: UTF8.self)) } ?? false
        }
    }

    /// Pids whose command line holds `text`.
    public static func pids(commandLineContaining text: String) -> [Int] {
        pids { $0.contains(text) }
    }

    /// Pids whose real uid is in `uids`.
    public static func pids(uids: Range<UInt32>) -> [Int] {
        allPids().filter { pid in uid(of: pid).map(uids.contains) ?? false }
    }

    /// The real uid of `pid` (nil when it is gone).
    public static func uid(of pid: Int) -> UInt32? {
        guard let status = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return nil }
        return String(decoding: status, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Uid:") }?
            .split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }

    /// The program name (`comm`) of `pid`.
    public static func name(of pid: Int) -> String? {
        FileManager.default.contents(atPath: "/proc/\(pid)/comm").map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .newlines) }
    }

    private static func allPids() -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int.init)
    }
}
