import TroupeSystem

/// The disk a sandbox may fill: its directory holds at most ``bytes`` and ``entries``. No file
/// may grow past what is left of the bytes when a command starts (RLIMIT_FSIZE, at most the
/// 64 MiB every file gets); the directory as a whole is measured every ``interval`` while the
/// command runs, and a command that takes it past its allowance is stopped (its whole tree, as
/// at a timeout). What it wrote by then may pass the bound by what one interval allows; a later
/// command may remove it, and can grow no file while it is past.
struct SandboxDiskBound: Sendable, Equatable {
    static let bytes = 256 << 20
    static let entries = 50_000
    static let interval: Duration = .milliseconds(250)

    /// What this exec may leave: the bound, or what the directory held when it started if a
    /// previous command left more.
    let allowedBytes: Int
    let allowedEntries: Int
    /// How far any one file may grow in this exec: what is left of ``bytes``.
    let bytesLeft: Int

    /// The allowance of an exec starting now in `directory` (measured off the cooperative pool).
    static func measured(startingIn directory: String) async -> SandboxDiskBound {
        let usage = await BlockingWork.run { DirectoryUsage.measure(directory, entryLimit: entries + 1) }
        return SandboxDiskBound(used: usage?.bytes ?? 0, entries: usage?.entries ?? 0)
    }

    private init(used: Int, entries: Int) {
        allowedBytes = max(Self.bytes, used)
        allowedEntries = max(Self.entries, entries)
        bytesLeft = max(0, Self.bytes - used)
    }

    /// Whether `directory` now holds more than the allowance (measured off the cooperative pool).
    func isPassed(in directory: String) async -> Bool {
        let limit = allowedEntries + 1
        guard let usage = await BlockingWork.run({ DirectoryUsage.measure(directory, entryLimit: limit) }) else { return false }
        return usage.bytes > allowedBytes || usage.entries > allowedEntries
    }

    /// Measures `directory` every ``interval`` until cancelled or the allowance is passed, when
    /// it stops `command`; whether it did.
    func watch(_ directory: String, stopping command: RunningCommand) async -> Bool {
        while true {
            do { try await Task.sleep(for: Self.interval) } catch { return false }
            if await isPassed(in: directory) {
                command.terminate()
                return true
            }
        }
    }

    /// The line an exec's stderr ends with when its command took the directory past the bound.
    static let passedNote = "troupe: the sandbox's directory passed its bound of \(bytes >> 20) MiB and \(entries) entries: "
        + "a command that takes it further is stopped"
}
