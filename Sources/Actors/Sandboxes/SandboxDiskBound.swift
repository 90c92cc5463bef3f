import TroupeSystem

/// The disk a sandbox may fill: its directory holds at most ``Limits`` (by default 256 MiB and
/// 50,000 entries; the operator's `sandbox_disk_mb` and `sandbox_disk_entries`). No file
/// may grow past what is left of the bytes when a command starts (RLIMIT_FSIZE, at most the
/// 64 MiB every file gets); the directory as a whole is measured every ``interval`` while the
/// command runs, and a command that takes it past its allowance is stopped (its whole tree, as
/// at a timeout). What it wrote by then may pass the bound by what one interval allows; a later
/// command may remove it, and can grow no file while it is past.
public struct SandboxDiskBound: Sendable, Equatable {
    /// What a sandbox's directory may hold.
    public struct Limits: Sendable, Equatable {
        public var bytes = 256 << 20
        public var entries = 50_000

        public init() {}
    }

    static let interval: Duration = .milliseconds(250)

    /// What this exec may leave: the bound, or what the directory held when it started if a
    /// previous command left more.
    let allowedBytes: Int
    let allowedEntries: Int
    /// How far any one file may grow in this exec: what is left of ``bytes``.
    let bytesLeft: Int

    /// The allowance of an exec starting now in `directory` under `limits` (measured off the
    /// cooperative pool).
    static func measured(startingIn directory: String, limits: Limits) async -> SandboxDiskBound {
        let usage = await BlockingWork.run { DirectoryUsage.measure(directory, entryLimit: limits.entries + 1) }
        return SandboxDiskBound(limits: limits, used: usage?.bytes ?? 0, entries: usage?.entries ?? 0)
    }

    private init(limits: Limits, used: Int, entries: Int) {
        self.limits = limits
        allowedBytes = max(limits.bytes, used)
        allowedEntries = max(limits.entries, entries)
        bytesLeft = max(0, limits.bytes - used)
    }

    let limits: Limits

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
    var passedNote: String {
        "troupe: the sandbox's directory passed its bound of \(limits.bytes >> 20) MiB and \(limits.entries) entries: "
            + "a command that takes it further is stopped"
    }
}
