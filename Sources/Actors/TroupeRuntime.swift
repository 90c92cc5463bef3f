import Foundation
import TroupeCore
import TroupePersistence
import TroupeSystem

/// The actor runtime in one value: a database, its snapshot store, and the registries. The
/// server builds one; tests and users' harnesses build one on a temporary database with a
/// ``ManualClock`` and no network:
///
/// ```swift
/// let clock = ManualClock()
/// let runtime = try await TroupeRuntime.temporary(clock: clock)
/// let workspace = try await runtime.createTenant(name: "Acme", plan: .starter)
/// let decision = try await runtime.tenants.call(workspace) { tenant in try await tenant.admit() }
/// clock.advance(by: .seconds(1))
/// await runtime.close()
/// ```
public final class TroupeRuntime: Sendable {
    public let clock: any WallClock
    public let store: SnapshotStore
    public let tenants: ActorRegistry<TenantActor>
    /// Runs, their timers and sandbox steps, and the hand-over of their finished jobs.
    public let runs: RunEngine
    /// Sandboxes, those of the API and those of runs' sandbox steps.
    public let sandboxes: SandboxEngine
    /// Where background work reports what failed (logged, counted, retried).
    public let failures: BackgroundFailures
    /// The durable clock: fires the `due_work` rows (the ends of `wait` steps) as they fall
    /// due. A service: the server runs it; a test calls ``Scheduler/fireDue()``.
    public let scheduler: Scheduler
    /// Workflows, looked up through one cache per process.
    public let workflows: WorkflowStore
    /// Starting runs and acting on them, whoever asks (``RunService``).
    public let runService: RunService
    /// Schedules and their fires.
    public let schedules: ScheduleService
    /// Jobs: the worker protocol, and their leases and back-offs on the durable clock.
    public let jobs: JobQueue
    public let path: String
    private let temporaryDirectory: String?

    /// The database's one ordered list of steps, the server's and the runtime's alike: snapshots,
    /// the server's tables, workflows, jobs, the runs' index, the hot tables' rebuild as rowid
    /// tables, then each later step in the order it was written. New steps are only appended.
    public static let migrations = Migrator(
        SnapshotStore.migrations + AccountSchema.migrations + WorkflowStore.migrations + JobStore.migrations + RunEngine.migrations
            + RowidTables.migrations + [JobStore.requeueFailedMigration, IdempotencyStore.migration] + EventLog.migrations
            + AuditLog.migrations + WebhookStore.migrations + SandboxStore.migrations
            + [RunEngine.workflowColumnMigration, WorkloadUsage.rollUpMigration, DueWork.migration, RunEngine.waitTimersMigration,
               ScheduleService.migration, RunEngine.workflowTimeoutMigration,
               RunEngine.approvalsWithoutDeadlineMigration, JobTimers.migration])

    /// Opens (creating and migrating if needed) the database at `path`. A program that keeps
    /// tables of its own passes a `migrator` whose list is ``migrations``' followed by its own
    /// steps (new steps only ever appended). `logger` receives the records set aside
    /// (``SetAsideRecords``); past `writerQueueCapacity` waiting changes, writes are refused as
    /// overloaded. `sandboxes`: where sandboxes live and whether they may run commands (by
    /// default under the temporary directory, exec off).
    public static func open(
        path: String, clock: any WallClock = SystemClock(), settings: RuntimeSettings = RuntimeSettings(),
        durability: Durability = .full, registry: ActorRegistry<TenantActor>.Configuration = .init(),
        migrator: Migrator = TroupeRuntime.migrations, logger: Logger = .discarding,
        writerQueueCapacity: Int = GroupCommitWriter.Configuration().queueCapacity,
        sandboxes: SandboxEngine.Configuration? = nil
    ) async throws -> TroupeRuntime {
        let sandboxes = sandboxes ?? SandboxEngine.Configuration(root: NSTemporaryDirectory() + "troupe-sandboxes", isolation: .probe(), execEnabled: false)
        return try await TroupeRuntime(path: path, temporaryDirectory: nil, clock: clock, settings: settings,
                                       writer: GroupCommitWriter.Configuration(durability: durability, queueCapacity: writerQueueCapacity),
                                       registry: registry, migrator: migrator, logger: logger, sandboxes: sandboxes)
    }

    /// A runtime on a new database in a temporary folder, removed by ``close()``. Its sandboxes
    /// live in that folder and run commands, under a uid range drawn at random (when root), so
    /// that runtimes side by side never share a uid.
    public static func temporary(
        clock: any WallClock = ManualClock(), settings: RuntimeSettings = RuntimeSettings(),
        registry: ActorRegistry<TenantActor>.Configuration = .init(), sandboxExec: Bool = true,
        sandboxOutputBudgetBytes: Int = 64 << 20
    ) async throws -> TroupeRuntime {
        let directory = NSTemporaryDirectory() + "troupe-runtime-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var sandboxes = SandboxEngine.Configuration(root: directory + "/sandboxes", uidBase: 1_000_000 + UInt32.random(in: 0..<60_000) * 65_536,
                                                    isolation: .probe(), execEnabled: sandboxExec)
        sandboxes.outputBudgetBytes = sandboxOutputBudgetBytes
        return try await TroupeRuntime(path: directory + "/troupe.db", temporaryDirectory: directory, clock: clock,
                                       settings: settings, writer: GroupCommitWriter.Configuration(durability: .normal),
                                       registry: registry, migrator: Self.migrations, logger: .discarding, sandboxes: sandboxes)
    }

    private init(
        path: String, temporaryDirectory: String?, clock: any WallClock, settings: RuntimeSettings,
        writer configuration: GroupCommitWriter.Configuration, registry: ActorRegistry<TenantActor>.Configuration,
        migrator: Migrator, logger: Logger, sandboxes sandboxConfiguration: SandboxEngine.Configuration
    ) async throws {
        self.path = path
        self.temporaryDirectory = temporaryDirectory
        self.clock = clock
        let writer = try await GroupCommitWriter(path: path, configuration: configuration) { db in
            try migrator.migrate(db)
        }
        let reader: ReadPool
        do {
            // Long reads on a thread that runs only on CPU nothing else wants.
            reader = try await ReadPool(path: path, connections: 2, longReadSetup: {
                if let error = ThreadScheduling.makeCurrentThreadIdle() {
                    logger.log(.error, "reader.priority_unchanged", [("errno", .int(Int64(error)))])
                }
            })
        } catch {
            await writer.close()
            throw error
        }
        store = SnapshotStore(writer: writer, reader: reader, clock: clock, setAside: SetAsideRecords(logger: logger))
        let context = ActorContext(store: store, clock: clock, settings: settings)
        tenants = ActorRegistry(context: context, configuration: registry)
        var runRegistry = ActorRegistry<RunActor>.Configuration()
        runRegistry.idleTTL = registry.idleTTL
        let failures = BackgroundFailures(logger: logger)
        self.failures = failures
        let sandboxes = SandboxEngine(store: store, configuration: sandboxConfiguration, loop: EventLoop.shared, clock: clock, failures: failures)
        self.sandboxes = sandboxes
        let tenants = tenants
        let runs = RunEngine(context: context, failures: failures, sandboxes: sandboxes,
                             sandboxCap: { workspaceID in try await tenants.call(workspaceID) { $0.limits.sandboxes } }, configuration: runRegistry)
        self.runs = runs
        scheduler = Scheduler(store: store, clock: clock, failures: failures)
        scheduler.register(RunEngine.waitKind) { work in try await runs.fireWait(work) }
        scheduler.register(RunEngine.stepDeadlineKind) { work in try await runs.fireStepDeadline(work) }
        scheduler.register(RunEngine.runDeadlineKind) { work in try await runs.fireRunDeadline(work) }
        workflows = WorkflowStore(store: store)
        jobs = JobQueue(store: JobStore(store: store), runs: runs, claimers: store.journal.bus.claimers, clock: clock, scheduler: scheduler)
        runService = RunService(runs: runs, tenants: tenants, store: store, clock: clock)
        var scheduleRegistry = ActorRegistry<ScheduleActor>.Configuration()
        scheduleRegistry.idleTTL = registry.idleTTL
        schedules = ScheduleService(context: context, runs: runService, workflows: workflows, scheduler: scheduler, configuration: scheduleRegistry)
    }

    /// Creates a workspace and returns its id (`ws_…`) once it is durable.
    public func createTenant(name: String, plan: Plan = .starter) async throws -> String {
        let id = RandomID.make(prefix: "ws")
        try await store.save(TenantState(name: name, plan: plan, createdAt: clock.now), kind: TenantActor.kind, id: id, at: clock.now)
        return id
    }

    /// Closes the database (after committing what is queued); a temporary one is removed.
    public func close() async {
        runs.stop()
        await sandboxes.stopCommands()
        await store.reader.close()
        await store.writer.close()
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
    }
}
