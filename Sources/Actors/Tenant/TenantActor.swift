import Synchronization
import TroupeCore

/// A workspace: its settings and plan, and its rate limiter — requests per minute (GCRA, burst
/// of the minute's budget), a daily quota resetting at 00:00 UTC, and one limiter per API key.
///
/// **Limits survive restarts without a write per request.** The actor grants requests only
/// within a *lease* already committed to its snapshot: the per-minute limiter's arrival time,
/// the day's count, each key's arrival time. When a grant would pass a lease, the actor extends
/// it by a chunk (a tenth of the minute's budget, a twentieth of the day's), commits that, and
/// then grants. On activation the limiters start from the leases, as if every leased request
/// had been used: a crash can make a limit stricter for a moment, never looser.
public actor TenantActor: ManagedActor {
    public static let kind = "tenant"

    public let id: String
    private let context: ActorContext
    /// The latest state, leases included once committed.
    private var state: TenantState
    private var minute: GCRALimiter?
    private var daily: DailyQuota?
    private var keys: [String: GCRALimiter] = [:]
    /// A lease extension being committed; others wait for it rather than start their own.
    private var pendingLease: Task<Void, any Error>?
    /// Whether the plan limits requests per minute or per day: published outside the actor's
    /// isolation so that a request to an unlimited workspace need not enter the actor at all.
    private let planLimited: Atomic<Bool>

    public init(id: String, state: TenantState, context: ActorContext) {
        self.id = id
        self.state = state
        self.context = context
        let limits = context.settings.limits(for: state.plan)
        planLimited = Atomic(limits.requestsPerMinute != nil || limits.requestsPerDay != nil)
        // No lease a running actor writes reaches past now + a period and a chunk: one read back
        // from a damaged snapshot is capped there, so it can refuse a workspace for two minutes
        // at most, never for ever (and its arithmetic never overflows).
        let ceiling = context.clock.now.microsecondsSinceEpoch.saturatingAdding(120_000_000)
        minute = limits.requestsPerMinute.map {
            GCRALimiter(limit: $0, period: .seconds(60), theoreticalArrival: min(state.minuteLease, ceiling))
        }
        daily = limits.requestsPerDay.map { DailyQuota(limit: $0, day: state.dailyLeaseDay, used: min(max(0, state.dailyLease), $0)) }
        // Restored once, here, as if every leased request had been used; a key seen for the
        // first time later starts with a full bucket.
        if let keyLimit = context.settings.apiKeyRequestsPerMinute {
            keys = state.keyLeases.mapValues { GCRALimiter(limit: keyLimit, period: .seconds(60), theoreticalArrival: min($0, ceiling)) }
        }
    }

    /// Whether ``admit(apiKeyID:)`` has anything to decide for a request (by an API key or
    /// not); when false it would return nil. Read without entering the actor: a plan change
    /// racing with it lets through a request that would have come just before the change.
    public nonisolated func needsAdmission(byAPIKey: Bool) -> Bool {
        planLimited.load(ordering: .relaxed) || (byAPIKey && context.settings.apiKeyRequestsPerMinute != nil)
    }

    public var name: String { state.name }
    public var plan: Plan { state.plan }
    public var createdAt: Timestamp { state.createdAt }
    public var limits: PlanLimits { context.settings.limits(for: state.plan) }

    /// Decides one request of this workspace (and of `apiKeyID`, when an API key made it).
    /// Returns nil when no limit applies (unlimited plan, no key limit): nothing to report.
    public func admit(apiKeyID: String? = nil) async throws -> RateDecision? {
        let keyLimit = apiKeyID == nil ? nil : context.settings.apiKeyRequestsPerMinute
        if minute == nil, daily == nil, keyLimit == nil { return nil }
        while true {
            let now = context.clock.now
            // Decide on copies: a request refused by one limit counts against none.
            var nextMinute = minute
            var nextDaily = daily
            var nextKey: GCRALimiter? = apiKeyID.flatMap { keys[$0] ?? keyLimit.map { GCRALimiter(limit: $0, period: .seconds(60)) } }
            let decisions = [nextMinute?.admit(at: now), nextDaily?.admit(at: now), nextKey?.admit(at: now)].compactMap { $0 }
            guard let decision = decisions.dropFirst().reduce(decisions.first, { $0?.tighter($1) }) else { return nil }
            guard decision.allowed else { return decision }
            if let extended = leaseExtension(minute: nextMinute, daily: nextDaily, key: nextKey, apiKeyID: apiKeyID, now: now) {
                try await commitLease(extended, at: now)
                continue  // decide again: others may have been admitted meanwhile
            }
            minute = nextMinute
            daily = nextDaily
            if let apiKeyID, let limiter = nextKey { keys[apiKeyID] = limiter }
            return decision
        }
    }

    /// The state with leases extended, when a grant would pass what is committed; else nil.
    private func leaseExtension(
        minute: GCRALimiter?, daily: DailyQuota?, key: GCRALimiter?, apiKeyID: String?, now: Timestamp
    ) -> TenantState? {
        var next = state
        if let minute, minute.theoreticalArrival > state.minuteLease {
            next.minuteLease = minute.theoreticalArrival.saturatingAdding(minute.emissionInterval.saturatingMultiplied(by: Int64(max(1, minute.limit / 10))))
        }
        if let daily, daily.day != state.dailyLeaseDay || daily.used > state.dailyLease {
            next.dailyLeaseDay = daily.day
            next.dailyLease = daily.used + max(1, daily.limit / 20) - 1
        }
        if let key, let apiKeyID, key.theoreticalArrival > state.keyLeases[apiKeyID] ?? .min {
            next.keyLeases[apiKeyID] = key.theoreticalArrival.saturatingAdding(key.emissionInterval.saturatingMultiplied(by: Int64(max(1, key.limit / 10))))
            next.keyLeases = next.keyLeases.filter { $0.value > now.microsecondsSinceEpoch || $0.key == apiKeyID }
        }
        return next == state ? nil : next
    }

    private func commitLease(_ next: TenantState, at now: Timestamp) async throws {
        if let pendingLease { return try await pendingLease.value }
        let store = context.store
        let id = self.id
        // The task applies the committed lease itself, on this actor, before anyone awaiting it
        // resumes: a waiter that resumed first would otherwise find the old lease and the
        // finished task again, and spin without ever letting the owner run.
        let task = Task {
            defer { pendingLease = nil }
            try await store.save(next, kind: Self.kind, id: id, at: now)
            applyCommittedLease(next)
        }
        pendingLease = task
        try await task.value
    }

    private func applyCommittedLease(_ next: TenantState) {
        state.minuteLease = max(state.minuteLease, next.minuteLease)
        if next.dailyLeaseDay != state.dailyLeaseDay || next.dailyLease > state.dailyLease {
            state.dailyLeaseDay = next.dailyLeaseDay
            state.dailyLease = next.dailyLease
        }
        state.keyLeases = next.keyLeases
    }

    /// Renames the workspace or changes its plan; returns once durable.
    public func update(name: String? = nil, plan: Plan? = nil, origin: ChangeOrigin = .system) async throws {
        var next = state
        if let name { next.name = name }
        if let plan { next.plan = plan }
        try await context.store.save(next, kind: Self.kind, id: id, at: context.clock.now, origin: origin)
        state.name = next.name
        if next.plan != state.plan {
            state.plan = next.plan
            let limits = context.settings.limits(for: next.plan)
            minute = limits.requestsPerMinute.map { GCRALimiter(limit: $0, period: .seconds(60), theoreticalArrival: state.minuteLease) }
            daily = limits.requestsPerDay.map { DailyQuota(limit: $0, day: state.dailyLeaseDay, used: state.dailyLease) }
            planLimited.store(minute != nil || daily != nil, ordering: .relaxed)
        }
    }
}
