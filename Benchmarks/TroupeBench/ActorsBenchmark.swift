import Foundation
import TroupeActors
import TroupeCore
import TroupePersistence

/// `troupe-bench actors`: the actor runtime in process, release build.
struct ActorsBenchmark {
    let actors: Int

    init(arguments: Arguments) {
        actors = arguments.int("actors", default: 100_000)
    }

    func run() async throws {
        var settings = RuntimeSettings()
        settings.plans[.enterprise] = PlanLimits(requestsPerMinute: 100_000_000, requestsPerDay: nil)
        var registry = ActorRegistry<TenantActor>.Configuration()
        registry.maxResident = actors * 2
        let runtime = try await TroupeRuntime.temporary(clock: SystemClock(), settings: settings, registry: registry)
        defer { Task { await runtime.close() } }
        print("actors: \(actors) workspaces stored in a temporary database")
        let ids = try await storeTenants(runtime)

        // (1) Activation from snapshot: the first call to a stored, non-resident workspace.
        var activations: [Duration] = []
        for id in ids.shuffled().prefix(10_000) {
            let started = ContinuousClock.now
            _ = try await runtime.tenants.call(id) { $0.plan }
            activations.append(ContinuousClock.now - started)
        }
        activations.sort()
        print(jsonLine(["bench": "actors.activation", "stored": .int(Int64(actors)), "sampled": .int(10_000),
                        "p50_ms": .double(percentile(activations, 0.5).milliseconds),
                        "p99_ms": .double(percentile(activations, 0.99).milliseconds)]))

        // (2) Memory per resident idle actor: RSS growth over activating the rest.
        runtime.tenants.passivateAll()
        let rssBefore = residentSetKiB()
        try await activateAll(runtime, ids)
        let rssAfter = residentSetKiB()
        let bytesPerActor = Double(rssAfter - rssBefore) * 1024 / Double(ids.count)
        print(jsonLine(["bench": "actors.memory", "actors": .int(Int64(runtime.tenants.residentCount)),
                        "bytes_per_actor": .int(Int64(bytesPerActor))]))

        // (3) Resident lookup + one actor call, two concurrent callers.
        let callsPerCaller = 500_000
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<2 {
                group.addTask {
                    for index in 0..<callsPerCaller {
                        _ = try await runtime.tenants.call(ids[(index * 2 + caller) % ids.count]) { $0.plan }
                    }
                }
            }
            try await group.waitForAll()
        }
        let perCall = Double((ContinuousClock.now - started).nanoseconds) / Double(2 * callsPerCaller)
        print(jsonLine(["bench": "actors.lookup_call", "callers": 2, "ns_per_op": .int(Int64(perCall))]))

        // (4) Rate-limit decisions: the decision itself, then 64 callers through one tenant actor.
        var limiter = GCRALimiter(limit: 1_000_000_000, period: .seconds(60))
        let decisions = 10_000_000
        let clock = SystemClock()
        let now = clock.now
        let limiterStart = ContinuousClock.now
        var allowed = 0
        for step in 0..<decisions where limiter.admit(at: now + .nanoseconds(step)).allowed { allowed += 1 }
        let perDecision = Double((ContinuousClock.now - limiterStart).nanoseconds) / Double(decisions)
        print(jsonLine(["bench": "actors.rate_limit", "callers": 1, "ns_per_decision": .double((perDecision * 10).rounded() / 10),
                        "allowed": .int(Int64(allowed))]))
        let busy = try await runtime.createTenant(name: "busy", plan: .enterprise)
        let perCaller = 20_000
        let concurrentStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask { for _ in 0..<perCaller { _ = try await runtime.tenants.call(busy) { try await $0.admit() } } }
            }
            try await group.waitForAll()
        }
        let perConcurrent = Double((ContinuousClock.now - concurrentStart).nanoseconds) / Double(64 * perCaller)
        print(jsonLine(["bench": "actors.rate_limit", "callers": 64, "ns_per_decision": .int(Int64(perConcurrent)),
                        "through": "tenant actor"]))

        // (5) Passivate all, then re-activate all.
        runtime.tenants.passivateAll()
        let reactivateStart = ContinuousClock.now
        try await activateAll(runtime, ids)
        let seconds = Double((ContinuousClock.now - reactivateStart).nanoseconds) / 1e9
        print(jsonLine(["bench": "actors.reactivate_all", "actors": .int(Int64(ids.count)),
                        "seconds": .double((seconds * 100).rounded() / 100)]))
        await runtime.close()
    }

    private func storeTenants(_ runtime: TroupeRuntime) async throws -> [String] {
        let ids = (0..<actors).map { _ in RandomID.make(prefix: "ws") }
        let now = runtime.clock.now
        for chunk in stride(from: 0, to: ids.count, by: 10_000) {
            let slice = Array(ids[chunk..<min(ids.count, chunk + 10_000)])
            try await runtime.store.journal.commit(.system) { db in
                for id in slice {
                    try SnapshotStore.saveChange(TenantState(name: "bench", plan: .starter, createdAt: now),
                                                 kind: TenantActor.kind, id: id, at: now)(db)
                }
            }
        }
        return ids
    }

    private func activateAll(_ runtime: TroupeRuntime, _ ids: [String]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in stride(from: worker, to: ids.count, by: 8) {
                        _ = try await runtime.tenants.call(ids[index]) { $0.plan }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func residentSetKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
