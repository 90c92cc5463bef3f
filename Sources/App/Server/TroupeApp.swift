import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeSystem
import TroupeTransport

/// The API as one value: the actor runtime, the stores and services over it, and the route
/// groups built from them. A thin composition — each route group holds only what it uses.
public final class TroupeApp: Sendable {
    let config: ServerConfig
    let runtime: TroupeRuntime
    let accounts: AccountStore
    let members: MemberStore
    let workflows: WorkflowStore
    let locks: LockStore
    let jobs: JobStore
    let idempotency: IdempotencyGate
    let keys: APIKeyStore
    let usage: UsageStore
    let webhooks: WebhookStore
    let sandboxes: SandboxEngine
    /// Seals webhook secrets at rest (a key derived from the server's secret).
    let webhookSecrets: SealedBox
    let authenticator: Authenticator
    let passwords: PasswordHasher
    let loginThrottle = LoginThrottle()
    let loginAddresses: LoginAddressGate
    let cursors: PageCursor.Codec
    let metrics = Metrics()
    /// Each workspace's requests in flight, so that one workspace's flood waits behind the others.
    let shares = FairShare()
    let log: RequestLog
    /// Lines of background work.
    let logger: Logger
    private let draining = LockedBox(false)
    /// The HTTP server's counters, for `/metrics`, once it runs.
    let connectionStatistics = LockedBox<(@Sendable () -> HTTPServer.Statistics)?>(nil)

    var clock: any WallClock { runtime.clock }

    /// Builds the API over an open runtime. `memberChanges`: the membership changes of the last
    /// session lifetime (``MemberStore/changes(since:)``).
    /// The database's owner lock, held while the server runs (nil where the app is embedded).
    let databaseLock: DatabaseLock?

    init(config: ServerConfig, runtime: TroupeRuntime, secret: [UInt8], memberChanges: [MembershipChange], log: RequestLog, logger: Logger,
         databaseLock: DatabaseLock? = nil) {
        self.databaseLock = databaseLock
        loginAddresses = LoginAddressGate(limits: config.loginAddressLimits)
        self.config = config
        self.runtime = runtime
        accounts = AccountStore(store: runtime.store)
        members = MemberStore(store: runtime.store)
        workflows = runtime.workflows
        locks = LockStore(store: runtime.store)
        jobs = runtime.jobs.store
        idempotency = IdempotencyGate(store: IdempotencyStore(store: runtime.store), clock: runtime.clock, secret: secret)
        keys = APIKeyStore(store: runtime.store)
        usage = UsageStore(store: runtime.store)
        webhooks = WebhookStore(store: runtime.store)
        sandboxes = runtime.sandboxes
        webhookSecrets = SealedBox(key: HMACSHA256(key: secret).authenticationCode(for: "webhook secrets"))
        let revocations = SessionRevocations(memberChanges, lifetime: Authenticator.sessionLifetime)
        authenticator = Authenticator(secret: secret, keys: keys, clock: runtime.clock, revocations: revocations)
        passwords = PasswordHasher(iterations: config.passwordIterations)
        cursors = PageCursor.Codec(mac: HMACSHA256(key: secret))
        self.log = log
        self.logger = logger
    }

    var isDraining: Bool { draining.value }

    func startDraining() { draining.withLock { $0 = true } }

    /// The routes of API.md built so far, group by group.
    func makeRouter() -> Router {
        let gate = RouteGate(authenticator: authenticator, idempotency: idempotency, tenants: runtime.tenants, usage: usage,
                             journal: runtime.store.journal, clock: clock, shares: shares)
        let workspaceView = WorkspaceJSON(plans: config.plans)
        let draining: @Sendable () -> Bool = { [self] in isDraining }
        let groups: [any RouteGroup] = [
            OperationsRoutes(gate: gate, runtime: runtime, metrics: metrics, sandboxes: sandboxes, isDraining: draining, connectionStatistics: connectionStatistics),
            AuthRoutes(gate: gate, accounts: accounts, authenticator: authenticator, passwords: passwords, loginThrottle: loginThrottle, loginAddresses: loginAddresses,
                       tenants: runtime.tenants, workspaceView: workspaceView, config: config, clock: clock, failures: runtime.failures),
            WorkspaceRoutes(gate: gate, accounts: accounts, authenticator: authenticator, runtime: runtime, workspaceView: workspaceView,
                            cursors: cursors, config: config, clock: clock),
            MemberRoutes(gate: gate, members: members, accounts: accounts, authenticator: authenticator, cursors: cursors, clock: clock),
            APIKeyRoutes(gate: gate, keys: keys, authenticator: authenticator, cursors: cursors, clock: clock),
            WorkflowRoutes(gate: gate, workflows: workflows, cursors: cursors, clock: clock),
            LockRoutes(gate: gate, locks: locks, cursors: cursors, clock: clock),
            JobRoutes(gate: gate, jobs: runtime.jobs, cursors: cursors, clock: clock, isDraining: draining),
            RunRoutes(gate: gate, runtime: runtime, workflows: workflows, cursors: cursors),
            ScheduleRoutes(gate: gate, runtime: runtime, cursors: cursors, clock: clock),
            EventRoutes(gate: gate, events: runtime.store.events, bus: runtime.store.journal.bus, runs: runtime.runs),
            PlanRoutes(gate: gate, runtime: runtime, members: members, usage: usage, config: config, clock: clock),
            AuditRoutes(gate: gate, audit: runtime.store.audit, cursors: cursors),
            WebhookRoutes(gate: gate, webhooks: webhooks, secrets: webhookSecrets, cursors: cursors, clock: clock),
            SandboxRoutes(gate: gate, runtime: runtime, sandboxes: sandboxes, cursors: cursors),
            ConsoleRoutes(gate: gate),
        ]
        var router = Router()
        for group in groups { group.add(to: &router) }
        return router
    }
}
