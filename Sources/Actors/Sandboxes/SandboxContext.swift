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
    let loop: EventLoop
    let clock: any WallClock
    let failures: BackgroundFailures
    private let live = Mutex(Directory())

    /// The uids a server may give out: `uidBase ..< uidBase + slotCount`.
    static let slotCount = 65_536

    struct Directory {
        var actors: [String: SandboxActor] = [:]
        var slots: [Int: String] = [:]
        var perWorkspace: [String: Int] = [:]
    }

    init(store: SandboxStore, root: String, uidBase: UInt32, isolation: Isolation, loop: EventLoop, clock: any WallClock,
         failures: BackgroundFailures) {
        self.store = store
        self.root = root
        self.uidBase = uidBase
        self.isolation = isolation
        self.loop = loop
        self.clock = clock
        self.failures = failures
    }

    func directory(of id: String) -> String { "\(root)/\(id)" }

    /// The uid (and gid) of a slot's commands, when sandboxes get uids of their own.
    func user(forSlot slot: Int) -> UInt32? {
        guard isolation.ownUser, let offset = UInt32(exactly: slot) else { return nil }
        return uidBase.addingReportingOverflow(offset).partialValue
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

    // MARK: Directories

    /// Makes the root (0711: sandboxes pass through it to their own, list nothing) and the
    /// sandbox's directory, 0700 and owned by its uid.
    func makeDirectory(for record: SandboxRecord) throws(SystemCallError) {
        if mkdir(root, 0o711) != 0 && errno != EEXIST { throw SystemCallError(call: "mkdir \(root)", errno: errno) }
        let path = directory(of: record.id)
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw SystemCallError(call: "mkdir \(path)", errno: errno) }
        if let user = user(forSlot: record.slot), chown(path, user, user) != 0 {
            throw SystemCallError(call: "chown \(path)", errno: errno)
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
