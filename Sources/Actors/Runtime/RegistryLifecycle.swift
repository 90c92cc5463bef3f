import TroupeCore

/// The registry's lifecycle work, serialized in one actor: activation (exactly once however many
/// callers ask at the same time), fault records and quarantine. Never on the hot path.
actor RegistryLifecycle<A: ManagedActor> {
    private struct FaultHistory {
        var recent: [Int64] = []
        var quarantines = 0
        var quarantinedUntil: Int64 = .min
    }

    private let context: ActorContext
    private let configuration: ActorRegistry<A>.Configuration
    private let table: ResidentTable
    private let counters: LockedBox<RegistryStatistics>
    /// Ids being loaded, with the callers waiting for that load.
    private var activations: [String: [CheckedContinuation<Void, any Error>]] = [:]
    private var faults: [String: FaultHistory] = [:]

    init(context: ActorContext, configuration: ActorRegistry<A>.Configuration, table: ResidentTable, counters: LockedBox<RegistryStatistics>) {
        self.context = context
        self.configuration = configuration
        self.table = table
        self.counters = counters
    }

    private var now: Int64 { context.clock.now.microsecondsSinceEpoch }

    /// Makes `id` resident, loading it from its snapshot unless another caller already is.
    func activate(_ id: String) async throws {
        if let until = faults[id]?.quarantinedUntil, now < until {
            throw ActorRuntimeError(
                .quarantined, kind: A.kind, id: id, message: "This \(A.kind) is recovering from repeated faults.",
                retryAfter: .microseconds(until - now))
        }
        if table.contains(id) { return }
        if activations[id] != nil {
            // Another caller is loading it: wait for that load rather than starting a second.
            return try await withCheckedThrowingContinuation { activations[id, default: []].append($0) }
        }
        activations[id] = []
        let outcome: Result<Void, any Error>
        do {
            let started = ContinuousClock.now
            let actor = try await load(id)
            // Back on this actor: the insert happens before any waiter resumes.
            let evicted = table.insert(id, actor, now: now, maxResident: configuration.maxResident)
            counters.withLock {
                $0.activations += 1
                $0.passivations += evicted
                $0.activationLatency.record(ContinuousClock.now - started)
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        for waiter in activations.removeValue(forKey: id) ?? [] { waiter.resume(with: outcome) }
        try outcome.get()
    }

    private func load(_ id: String) async throws -> A {
        guard let record = try await context.store.load(kind: A.kind, id: id) else {
            throw ActorRuntimeError(.notFound, kind: A.kind, id: id, message: "No \(A.kind) \(id) exists.")
        }
        do {
            let json = try JSON.parse(record.state)
            let state = try A.State(decoding: json, schemaVersion: record.schemaVersion)
            return A(id: id, state: state, context: context)
        } catch {
            // Set aside (reported with the id) and quarantined; the stored state is kept for an operator.
            counters.withLock { $0.corruptSnapshots += 1 }
            context.store.setAside.record(kind: A.kind, id: id, reason: "its snapshot does not decode: \(error)")
            quarantine(id)
            throw ActorRuntimeError(
                .corruptSnapshot, kind: A.kind, id: id, message: "The stored state of \(A.kind) \(id) does not decode: \(error)")
        }
    }

    /// A child threw an unexpected error: discard it (the next message reactivates it from its
    /// last committed snapshot); past the policy's restarts in its window, quarantine it.
    func recordFault(id: String, actor: A) {
        table.remove(id, ifSame: actor)
        let policy = configuration.supervision
        var history = faults[id] ?? FaultHistory()
        let windowStart = now - policy.window.nanoseconds / 1000
        history.recent = history.recent.filter { $0 > windowStart } + [now]
        faults[id] = history
        if history.recent.count > policy.maxRestarts {
            quarantine(id)
        } else {
            counters.withLock { $0.restarts += 1 }
        }
    }

    private func quarantine(_ id: String) {
        let policy = configuration.supervision
        var history = faults[id] ?? FaultHistory()
        let backoff = min(policy.maxBackoff.nanoseconds, policy.initialBackoff.nanoseconds << min(history.quarantines, 30)) / 1000
        history.quarantines += 1
        history.quarantinedUntil = now + backoff
        history.recent = []
        faults[id] = history
        counters.withLock { $0.quarantines += 1 }
    }
}
