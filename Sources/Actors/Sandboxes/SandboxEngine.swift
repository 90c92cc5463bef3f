import TroupeCore
import TroupeSystem

/// Sandboxes (API.md, "Sandboxes"): creation under the plan's cap, one exec at a time, delete,
/// the reaping of expired ones, and recovery after a crash. Each live sandbox is a resident
/// ``SandboxActor``; ended ones are rows only.
public final class SandboxEngine: Sendable {
    /// What the operator chose, and what the kernel allows.
    public struct Configuration: Sendable {
        public var root: String
        public var uidBase: UInt32
        public var isolation: Isolation
        public var execEnabled: Bool
        /// Whether commands run only under full isolation (`sandbox_isolation: "full"`, the
        /// default): where ``isolation`` falls short, exec and sandbox steps are refused.
        public var requiresFullIsolation: Bool
        /// The output bytes all execs under way may hold together (64 MiB: 32 execs at the
        /// largest `max_output_bytes`); an exec that would pass it is 503.
        public var outputBudgetBytes = 64 << 20
        /// Where each sandbox gets a control group bounding all its processes together (nil:
        /// nowhere, and `memory_mb` is divided among its processes instead).
        public var cgroups: SandboxCgroups?
        /// What a sandbox's directory may hold.
        public var diskLimits = SandboxDiskBound.Limits()

        public init(root: String, uidBase: UInt32 = 200_000, isolation: Isolation, execEnabled: Bool,
                    requiresFullIsolation: Bool = true, cgroups: SandboxCgroups? = nil, diskLimits: SandboxDiskBound.Limits = .init()) {
            self.root = root
            self.cgroups = cgroups
            self.diskLimits = diskLimits
            self.uidBase = uidBase
            self.isolation = isolation
            self.execEnabled = execEnabled
            self.requiresFullIsolation = requiresFullIsolation
        }

        /// What a sandbox's `isolation` names: ``Isolation/names``, and `cgroup` where there is one.
        public var isolationNames: [String] { isolation.names + (cgroups == nil ? [] : ["cgroup"]) }

        /// Why no command may run here, or nil when commands may.
        public var execRefusal: SandboxRefusal? {
            guard execEnabled else { return .execDisabled }
            if requiresFullIsolation, let missing = isolation.missing { return .isolationUnavailable(missing) }
            return nil
        }
    }

    public let store: SandboxStore
    public let configuration: Configuration
    private let context: SandboxContext

    /// The lifetime of a sandbox that names none (`ttl_s`), and the longest it may name.
    public static let defaultTTLSeconds = 3_600
    public static let ttlRange = 1...86_400

    public init(store: SnapshotStore, configuration: Configuration, loop: EventLoop, clock: any WallClock, failures: BackgroundFailures) {
        self.store = SandboxStore(store: store)
        self.configuration = configuration
        context = SandboxContext(store: self.store, root: configuration.root, uidBase: configuration.uidBase,
                                 isolation: configuration.isolation, cgroups: configuration.cgroups,
                                 diskLimits: configuration.diskLimits, loop: loop, clock: clock, failures: failures,
                                 outputBudget: configuration.outputBudgetBytes)
    }

    /// Stores a new sandbox (`provisioning`) and provisions it in the background (or, with
    /// `waitUntilReady`, before returning); 429 past `cap`. `origin` is given the record, so that
    /// an idempotent answer can show it.
    public func create(workspaceID: String, limits: SandboxLimits, ttlSeconds: Int, runID: String? = nil, cap: Int?,
                       waitUntilReady: Bool = false, origin: (SandboxRecord) -> ChangeOrigin = { _ in .system }) async throws -> SandboxRecord {
        let id = RandomID.make(prefix: "sbx")
        let slot = try context.reserve(id: id, workspaceID: workspaceID, cap: cap)
        let now = context.clock.now
        let record = SandboxRecord(id: id, workspaceID: workspaceID, status: .provisioning, limits: limits, runID: runID, slot: slot,
                                   createdAt: now, expiresAt: now + .seconds(ttlSeconds), isolation: configuration.isolationNames)
        do {
            try await store.insert(record, origin: origin(record))
        } catch {
            context.released(record)
            throw error
        }
        let actor = SandboxActor(record, context: context)
        context.admit(actor, record)
        guard waitUntilReady else {
            Task { await actor.provision() }
            return record
        }
        await actor.provision()
        return await actor.current
    }

    /// Runs one command in the sandbox; nil when the workspace has no such live sandbox.
    public func exec(_ exec: SandboxExec, in id: String, workspaceID: String, origin: ChangeOrigin = .system) async throws -> CommandOutcome? {
        if let refusal = configuration.execRefusal { throw refusal }
        guard let actor = context.actor(id), await actor.current.workspaceID == workspaceID else {
            if let ended = try await store.sandbox(id: id, workspaceID: workspaceID) { throw SandboxRefusal.notReady(id, ended.status) }
            return nil
        }
        return try await actor.exec(exec, origin: origin)
    }

    /// Ends the sandbox (processes killed, directory removed); the record as it ends, or nil
    /// when the workspace has no such sandbox.
    public func delete(id: String, workspaceID: String, origin: ChangeOrigin = .system) async throws -> SandboxRecord? {
        guard let actor = context.actor(id), await actor.current.workspaceID == workspaceID else {
            return try await store.sandbox(id: id, workspaceID: workspaceID)
        }
        await actor.terminate(reason: "deleted", origin: origin)
        return await actor.current
    }

    /// The sandbox as it is now: the resident actor's state, else its row.
    public func sandbox(id: String, workspaceID: String) async throws -> SandboxRecord? {
        if let actor = context.actor(id) {
            let record = await actor.current
            if record.workspaceID == workspaceID { return record }
        }
        return try await store.sandbox(id: id, workspaceID: workspaceID)
    }

    /// The workspace's sandboxes, newest first, each as it is now (a live one's actor state
    /// over its row, which may lag it by a write).
    public func sandboxes(workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [SandboxRecord] {
        var current: [SandboxRecord] = []
        for row in try await store.sandboxes(workspaceID: workspaceID, after: cursor, limit: limit) {
            if let actor = context.actor(row.id) { current.append(await actor.current) } else { current.append(row) }
        }
        return current
    }

    /// Live sandboxes of the workspace, for the plan's cap.
    public func liveCount(in workspaceID: String) -> Int { context.liveCount(in: workspaceID) }

    /// Live sandboxes of every workspace, for `/metrics`.
    public var liveCount: Int { context.liveCount }

    /// Ends every sandbox past its `expires_at`.
    public func reapExpired() async {
        let now = context.clock.now
        for actor in context.actors where await actor.current.expiresAt <= now {
            await actor.terminate(reason: "expired")
        }
    }

    /// What a previous server left: its processes killed (by the uids of its live sandboxes and
    /// their recorded process groups), each live row made resident again — a `busy` one `ready`, its interrupted exec
    /// reported in a `sandbox.exec_finished` event — and the unfinished provisioning and
    /// terminations finished. Expired ones are reaped by the next pass.
    public func recover() async throws {
        let rows = try await store.live()
        try ProcessSweep.kill(users: Set(rows.compactMap { context.hostUser(forSlot: $0.sandbox.slot) }),
                              groups: Set(rows.compactMap(\.launcherID)))
        await context.sweepCgroups(keeping: Set(rows.map(\.sandbox.id)))
        for (record, _) in rows {
            let actor = SandboxActor(record, context: context)
            context.admit(actor, record)
            switch record.status {
            case .busy: await actor.recoverInterruptedExec()
            case .provisioning: await actor.provision()
            case .terminating: await actor.terminate(reason: record.reason ?? "deleted")
            default: break
            }
        }
    }

    /// Ends every live sandbox made for a run's step: at start, none of them has a step attempt
    /// left to serve (the steps start new attempts). How many it ended.
    @discardableResult
    public func endRunSandboxes() async -> Int {
        var ended = 0
        for actor in context.actors where await actor.current.runID != nil {
            await actor.terminate(reason: "its run step was interrupted")
            ended += 1
        }
        return ended
    }

    /// Stops every command under way (the server stops); the sandboxes stay for the next start.
    public func stopCommands() async {
        for actor in context.actors { await actor.stopCommand() }
        context.cgroups?.removeIfUnused()
    }
}
