import TroupeCore
import TroupePersistence

/// A run to start, wherever the request comes from (a route, a schedule's fire, a test).
public struct StartRun: Sendable {
    public var workflow: WorkflowRecord
    public var ticket: String?
    public var env: String?
    public var input: JSON
    public var metadata: JSON
    public var dryRun: Bool
    /// `{max_cost_usd?, token_budget?}` given by the caller (else the workflow's cap).
    public var budget: JSONObject?
    public var priority: Int
    /// `{type, id}` of who starts it.
    public var createdBy: JSON
    /// The schedule and fire time, for a run a schedule starts.
    public var schedule: (id: String, scheduledAt: Timestamp)?

    public init(workflow: WorkflowRecord, ticket: String? = nil, env: String? = nil, input: JSON = .object(JSONObject()),
                metadata: JSON = .object(JSONObject()), dryRun: Bool = false, budget: JSONObject? = nil, priority: Int = 0, createdBy: JSON,
                schedule: (id: String, scheduledAt: Timestamp)? = nil) {
        self.workflow = workflow
        self.ticket = ticket
        self.env = env
        self.input = input
        self.metadata = metadata
        self.dryRun = dryRun
        self.budget = budget
        self.priority = priority
        self.createdBy = createdBy
        self.schedule = schedule
    }
}

/// The runs' use cases (DESIGN.md, "Use cases, time and routes"): start a run from a
/// ``StartRun`` and an origin, under the workspace's active-run cap, with anything the caller
/// must commit in the same transaction; act on a run; read and list runs. Knows no HTTP: a
/// route and a schedule call it alike.
public final class RunService: Sendable {
    private let runs: RunEngine
    private let tenants: ActorRegistry<TenantActor>
    private let store: SnapshotStore
    private let clock: any WallClock

    init(runs: RunEngine, tenants: ActorRegistry<TenantActor>, store: SnapshotStore, clock: any WallClock) {
        self.runs = runs
        self.store = store
        self.tenants = tenants
        self.clock = clock
    }

    /// A run about to be started: its id and state as created (`queued`, or `planned` for a
    /// dry run), for the caller to render before it commits.
    public struct Prepared: Sendable {
        public let id: String
        public let state: RunState
        let workspaceID: String
    }

    /// The run `start` describes in `workspaceID`, not yet stored.
    public func prepare(_ start: StartRun, in workspaceID: String, id: String = RandomID.make(prefix: "run")) -> Prepared {
        var state = RunState(workspace: workspaceID, workflow: start.workflow, ticket: start.ticket, env: start.env, input: start.input,
                             metadata: start.metadata, dryRun: start.dryRun, createdBy: start.createdBy, schedule: start.schedule,
                             priority: start.priority, at: clock.now)
        if let budget = start.budget { state.setBudget(budget, default: start.workflow.costCapUSD) }
        return Prepared(id: id, state: state, workspaceID: workspaceID)
    }

    /// Stores and starts a prepared run under the workspace's active-run cap (else
    /// ``RunCapReached``); `alongside` writes in the run's transaction.
    public func start(_ prepared: Prepared, origin: ChangeOrigin, alongside: (@Sendable (JournalTransaction) throws -> Void)? = nil) async throws {
        let cap = try await tenants.call(prepared.workspaceID) { $0.limits.activeRuns }
        _ = try await runs.create(id: prepared.id, state: prepared.state, activeRunCap: cap, origin: origin, alongside: alongside)
    }

    /// Prepares and starts the run `start` describes; its id and state as created. `origin` is
    /// given them before the commit.
    public func start(
        _ start: StartRun, in workspaceID: String, id: String = RandomID.make(prefix: "run"), origin: (String, RunState) -> ChangeOrigin,
        alongside: (@Sendable (JournalTransaction) throws -> Void)? = nil
    ) async throws -> (id: String, state: RunState) {
        let prepared = prepare(start, in: workspaceID, id: id)
        try await self.start(prepared, origin: origin(prepared.id, prepared.state), alongside: alongside)
        return (prepared.id, prepared.state)
    }

    /// Applies `event` to a run of `workspaceID` (nil when it is not there); see ``RunEngine/apply(_:to:in:origin:)``.
    public func act(_ event: RunMachine.Event, on runID: String, in workspaceID: String, origin: ChangeOrigin) async throws -> RunState? {
        try await runs.apply(event, to: runID, in: workspaceID, origin: origin)?.0
    }

    /// Sets fields of a run's budget (a run already past it fails); nil when it is not there.
    public func setBudget(_ fields: JSONObject, of runID: String, in workspaceID: String, origin: ChangeOrigin) async throws -> RunState? {
        try await runs.setBudget(fields, of: runID, in: workspaceID, origin: origin)?.0
    }

    /// The run's state, when it is `workspaceID`'s.
    public func state(of runID: String, in workspaceID: String) async throws -> RunState? {
        try await runs.state(of: runID, workspaceID: workspaceID)
    }

    /// The run rendered by `render` (kept by its actor until it changes), when it is `workspaceID`'s.
    public func rendered(of runID: String, in workspaceID: String, by render: @escaping @Sendable (String, RunState) -> [UInt8]) async throws -> [UInt8]? {
        try await runs.rendered(of: runID, workspaceID: workspaceID, by: render)
    }

    /// A page of the workspace's runs, newest first (``RunListing``).
    public func list(in workspaceID: String, filter: RunListing.Filter, after cursor: RunListing.Position?, limit: Int) async throws
        -> [(id: String, state: RunState)]
    {
        try await RunListing(store: store).runs(workspaceID: workspaceID, filter: filter, after: cursor, limit: limit)
    }
}
