import Foundation
import Glibc
import Synchronization
import TroupeCore
import TroupeSystem

/// What every ``SandboxActor`` shares: where directories go, the uid range, the isolation in
/// force, the loop that watches commands, and the directory of live sandboxes (their actors,
/// the slots they hold, and each workspace's count, which the plan's cap is checked against).
final class SandboxContext: Sendable {
    let store: SandboxStore
    let root: String
    let uidBase: UInt32
    let isolation: Isolation
    let cgroups: SandboxCgroups?
    let diskLimits: SandboxDiskBound.Limits
    let loop: EventLoop
    let clock: any WallClock
    let failures: BackgroundFailures
    private let live = Mutex(Directory())
    /// Output bytes the execs under way may still hold, of ``outputBudget``.
    private let outputLeft: Mutex<Int>

    /// The output bytes all execs under way may hold together: each reserves its worst case
    /// (`max_output_bytes` for stdout and for stderr) when it starts, and 503 past it.
    let outputBudget: Int

    /// The uids a server may give out: `uidBase ..< uidBase + slotCount`.
    static let slotCount = 65_536

    struct Directory {
        var actors: [String: SandboxActor] = [:]
        var slots: [Int: String] = [:]
        var perWorkspace: [String: Int] = [:]
    }

    init(store: SandboxStore, root: String, uidBase: UInt32, isolation: Isolation, cgroups: SandboxCgroups?,
         diskLimits: SandboxDiskBound.Limits, loop: EventLoop, clock: any WallClock, failures: BackgroundFailures, outputBudget: Int) {
        self.cgroups = cgroups
        self.diskLimits = diskLimits
        self.outputBudget = outputBudget
        outputLeft = Mutex(outputBudget)
        self.store = store
        self.root = root
        self.uidBase = uidBase
        self.isolation = isolation
        self.loop = loop
        self.clock = clock
        self.failures = failures
    }

    func directory(of id: String) -> String { "\(root)/\(id)" }

    /// The uid (and gid) of a slot's commands, when sandboxes get uids of their own (inside
    /// their user namespace, when that is how they get one).
    func user(forSlot slot: Int) -> UInt32? {
        guard isolation.identity != .server, let offset = UInt32(exactly: slot) else { return nil }
        return uidBase.addingReportingOverflow(offset).partialValue
    }

    /// The uid a slot's processes have on this host when it is theirs alone (the server runs
    /// as root), for sweeping what a previous server left; nil when they share the server's.
    func hostUser(forSlot slot: Int) -> UInt32? { isolation.identity == .own ? user(forSlot: slot) : nil }

    // MARK: Control groups

    /// The sandbox's control group, where sandboxes get one.
    func cgroup(of record: SandboxRecord) -> SandboxCgroup? { cgroups?.group(named: record.id) }

    /// Removes the sandbox's control group once its processes are gone (off the cooperative
    /// pool: the kernel may take a moment to let them go); a failure is logged and counted
    /// (the next start's sweep tries again).
    func removeCgroup(of record: SandboxRecord) async {
        guard let group = cgroup(of: record) else { return }
        let failure = await BlockingWork.run { () -> SystemCallError? in
            do throws(SystemCallError) {
                try group.remove()
                return nil
            } catch {
                return error
            }
        }
        if let failure { failures.record("sandbox_cgroup_removal", failure) }
    }

    /// Removes the groups of sandboxes that are no longer live (a previous server's), off the
    /// cooperative pool.
    func sweepCgroups(keeping live: Set<String>) async {
        guard let cgroups else { return }
        let failed = await BlockingWork.run { () -> [SystemCallError] in
            var failed: [SystemCallError] = []
            for name in cgroups.groupNames() where !live.contains(name) {
                do throws(SystemCallError) {
                    try cgroups.group(named: name).remove()
                } catch {
                    failed.append(error)
                }
            }
            return failed
        }
        for error in failed { failures.record("sandbox_cgroup_removal", error) }
    }

    // MARK: The directory of live sandboxes

    /// Takes a slot for a new sandbox of `workspaceID` unless the workspace is at `cap`.
    func reserve(id: String, workspaceID: String, cap: Int?) throws(SandboxRefusal) -> Int {
        try live.withLock { (directory: inout Directory) throws(SandboxRefusal) -> Int in
            let count = directory.perWorkspace[workspaceID, default: 0]
            if let cap, count >= cap { throw .capReached(cap) }
            guard let slot = (0..<Self.slotCount).first(where: { directory.slots[$0] == nil }) else { throw .noSlotLeft }
            directory.slots[slot] = id
            directory.perWorkspace[workspaceID] = count + 1
            return slot
        }
    }

    /// Makes `actor` findable, holding the slot of `record` (at start, for what the rows hold).
    func admit(_ actor: SandboxActor, _ record: SandboxRecord) {
        live.withLock { directory in
            if directory.slots[record.slot] != record.id {
                directory.slots[record.slot] = record.id
                directory.perWorkspace[record.workspaceID, default: 0] += 1
            }
            directory.actors[record.id] = actor
        }
    }

    /// Gives back the slot of an ended (or never stored) sandbox.
    func released(_ record: SandboxRecord) {
        live.withLock { directory in
            guard directory.slots[record.slot] == record.id else { return }
            directory.slots[record.slot] = nil
            directory.actors[record.id] = nil
            let count = directory.perWorkspace[record.workspaceID, default: 1] - 1
            directory.perWorkspace[record.workspaceID] = count > 0 ? count : nil
        }
    }

    func actor(_ id: String) -> SandboxActor? { live.withLock { $0.actors[id] } }

    var actors: [SandboxActor] { live.withLock { Array($0.actors.values) } }

    func liveCount(in workspaceID: String) -> Int { live.withLock { $0.perWorkspace[workspaceID, default: 0] } }

    var liveCount: Int { live.withLock { $0.slots.count } }

    // MARK: Output in flight

    /// Takes `bytes` of the output budget for an exec, or refuses (503).
    func reserveOutput(_ bytes: Int) throws(SandboxRefusal) {
        try outputLeft.withLock { (left: inout Int) throws(SandboxRefusal) in
            guard bytes <= left else { throw .outputBudgetSpent }
            left -= bytes
        }
    }

    /// Gives back what ``reserveOutput(_:)`` took, once the exec has answered.
    func releaseOutput(_ bytes: Int) { outputLeft.withLock { $0 += bytes } }

    // MARK: Directories

    /// Makes the root if absent and checks it (a directory, not a symbolic link, the server's
    /// own, 0711: sandboxes pass through it to their own and list nothing), then the sandbox's
    /// directory in it, 0700 and owned by its uid, through the root's descriptor and without
    /// following links, so that nothing swapped in on the way is written through.
    func makeDirectory(for record: SandboxRecord) throws(SystemCallError) {
        if mkdir(root, 0o711) != 0 && errno != EEXIST { throw SystemCallError(call: "mkdir \(root)", errno: errno) }
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard rootFD >= 0 else { throw SystemCallError(call: "open \(root) (it must be a directory, not a symbolic link)", errno: errno) }
        defer { close(rootFD) }
        var status = stat()
        guard fstat(rootFD, &status) == 0 else { throw SystemCallError(call: "fstat \(root)", errno: errno) }
        guard status.st_uid == geteuid() else { throw SystemCallError(call: "sandbox_root \(root) is not owned by the server's user", errno: EPERM) }
        if status.st_mode & 0o7777 != 0o711, fchmod(rootFD, 0o711) != 0 { throw SystemCallError(call: "fchmod \(root)", errno: errno) }
        let name = record.id
        if mkdirat(rootFD, name, 0o700) != 0 && errno != EEXIST { throw SystemCallError(call: "mkdirat \(name)", errno: errno) }
        guard fstatat(rootFD, name, &status, AT_SYMLINK_NOFOLLOW) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw SystemCallError(call: "sandbox directory \(name) is not a directory", errno: ENOTDIR)
        }
        if let user = hostUser(forSlot: record.slot), fchownat(rootFD, name, user, user, AT_SYMLINK_NOFOLLOW) != 0 {
            throw SystemCallError(call: "fchownat \(name)", errno: errno)
        }
    }

    /// Removes the sandbox's directory and all in it; a failure is logged and counted.
    func removeDirectory(of record: SandboxRecord) {
        let path = directory(of: record.id)
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            failures.record("sandbox_directory_removal", error)
        }
    }
}
