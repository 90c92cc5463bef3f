import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport

/// The API: everything a request needs once the transport has parsed it — the actor runtime,
/// the account and key stores, authentication, metrics and the request log — and the routes.
public final class TroupeApp: Sendable {
    let config: ServerConfig
    let runtime: TroupeRuntime
    let accounts: AccountStore
    let members: MemberStore
    let workflows: WorkflowStore
    let locks: LockStore
    let jobs: JobStore
    let jobWaiters = JobWaiters()
    let idempotency: IdempotencyGate
    let keys: APIKeyStore
    let usage: UsageStore
    let authenticator: Authenticator
    let passwords: PasswordHasher
    let loginThrottle = LoginThrottle()
    let cursors: PageCursor.Codec
    let metrics = Metrics()
    let log: RequestLog
    /// Lines of background work.
    let logger: Logger
    private let draining = LockedBox(false)
    /// The HTTP server's counters, for `/metrics`, once it runs.
    let connectionStatistics = LockedBox<(@Sendable () -> HTTPServer.Statistics)?>(nil)

    var clock: any WallClock { runtime.clock }

    /// Builds the API over an open runtime whose database holds ``AccountSchema``'s tables.
    /// `memberChanges`: the membership changes of the last session lifetime (``MemberStore/changes(since:)``).
    init(config: ServerConfig, runtime: TroupeRuntime, secret: [UInt8], memberChanges: [MembershipChange], log: RequestLog, logger: Logger) {
        self.config = config
        self.runtime = runtime
        accounts = AccountStore(store: runtime.store)
        members = MemberStore(store: runtime.store)
        workflows = WorkflowStore(store: runtime.store)
        locks = LockStore(store: runtime.store)
        jobs = JobStore(store: runtime.store)
        idempotency = IdempotencyGate(store: IdempotencyStore(store: runtime.store), clock: runtime.clock, secret: secret)
        keys = APIKeyStore(store: runtime.store)
        usage = UsageStore(store: runtime.store)
        let revocations = SessionRevocations(memberChanges, lifetime: Authenticator.sessionLifetime)
        authenticator = Authenticator(secret: secret, keys: keys, clock: runtime.clock, revocations: revocations)
        passwords = PasswordHasher(iterations: config.passwordIterations)
        cursors = PageCursor.Codec(mac: HMACSHA256(key: secret))
        self.log = log
        self.logger = logger
    }

    /// Background work failed: logged and counted; the loop that runs it tries again.
    func backgroundFailed(_ task: String, _ error: any Error) {
        metrics.recordBackgroundError(task: task)
        logger.log(.error, "background.failed", [("task", .string(task)), ("error", .string(String(describing: error)))])
    }

    var isDraining: Bool { draining.value }

    func startDraining() { draining.withLock { $0 = true } }

    /// Writes what is kept in memory between requests (keys' `last_used_at`, request counts)
    /// and, once a minute, deletes idempotency responses past their 24 hours.
    func flush() async {
        await authenticator.flushLastUsed()
        await usage.flush()
        await idempotency.pruneIfDue()
        await expireJobLeases()
    }

    /// Counts the job leases that expired as failed attempts (run once a second).
    func expireJobLeases() async {
        // A failure (a full disk) is retried on the next tick; until then those leases stay
        // expired, refusing their workers, and the jobs wait.
        for job in (try? await jobs.expireLeases(at: clock.now)) ?? [] { await handOver(job) }
    }

    /// The routes of API.md built so far.
    func makeRouter() -> Router {
        var router = Router()
        addOperationsRoutes(to: &router)
        addAuthRoutes(to: &router)
        addWorkspaceRoutes(to: &router)
        addMemberRoutes(to: &router)
        addAPIKeyRoutes(to: &router)
        addWorkflowRoutes(to: &router)
        addLockRoutes(to: &router)
        addJobRoutes(to: &router)
        addRunRoutes(to: &router)
        addPlanRoutes(to: &router)
        return router
    }
}
