import Foundation
import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct TenantActorTests {
    /// 2026-05-19T09:00:00Z, a Tuesday morning.
    private let morning = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)

    private func admitConcurrently(_ runtime: TroupeRuntime, _ id: String, _ count: Int, apiKeyID: String? = nil) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask { try await runtime.tenants.call(id) { try await $0.admit(apiKeyID: apiKeyID) }?.allowed ?? true }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    @Test func exactlyTheLimitIsAdmittedUnder64ConcurrentCallers() async throws {
        let clock = ManualClock(now: morning)
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let id = try await runtime.createTenant(name: "Acme", plan: .starter)
        #expect(try await admitConcurrently(runtime, id, 64) == 60)
        let denied = try await runtime.tenants.call(id) { try await $0.admit() }
        #expect(denied?.allowed == false)
        #expect(denied?.limit == 60)
        #expect(denied?.retryAfterSeconds == 1)
        clock.advance(by: .seconds(2))
        #expect(try await admitConcurrently(runtime, id, 5) == 2, "two refilled in two seconds")
        await runtime.close()
    }

    @Test func theDailyQuotaResetsAtUTCMidnight() async throws {
        let clock = ManualClock(now: morning)
        var settings = RuntimeSettings()
        settings.plans[.starter] = PlanLimits(requestsPerMinute: nil, requestsPerDay: 5)
        let runtime = try await TroupeRuntime.temporary(clock: clock, settings: settings)
        let id = try await runtime.createTenant(name: "Acme")
        #expect(try await admitConcurrently(runtime, id, 8) == 5)
        let denied = try await runtime.tenants.call(id) { try await $0.admit() }
        #expect(denied?.allowed == false)
        #expect(denied?.resetUnixSeconds == 1_779_235_200, "2026-05-20T00:00:00Z")
        clock.advance(to: Timestamp(millisecondsSinceEpoch: 1_779_235_199_999))
        #expect(try await runtime.tenants.call(id) { try await $0.admit() }?.allowed == false)
        clock.advance(by: .milliseconds(1))
        #expect(try await admitConcurrently(runtime, id, 8) == 5)
        await runtime.close()
    }

    @Test func eachAPIKeyHasItsOwnLimit() async throws {
        var settings = RuntimeSettings()
        settings.apiKeyRequestsPerMinute = 3
        let runtime = try await TroupeRuntime.temporary(clock: ManualClock(now: morning), settings: settings)
        let id = try await runtime.createTenant(name: "Big", plan: .enterprise)
        #expect(try await admitConcurrently(runtime, id, 5, apiKeyID: "key_a") == 3)
        #expect(try await admitConcurrently(runtime, id, 5, apiKeyID: "key_b") == 3)
        let sessionUser = try await runtime.tenants.call(id) { try await $0.admit() }
        #expect(sessionUser == nil, "an enterprise session has no limit to report")
        await runtime.close()
    }

    @Test func theTightestLimitIsReported() async throws {
        let runtime = try await TroupeRuntime.temporary(clock: ManualClock(now: morning))
        let id = try await runtime.createTenant(name: "Acme", plan: .starter)
        let decision = try await runtime.tenants.call(id) { try await $0.admit(apiKeyID: "key_a") }
        #expect(decision?.limit == 60, "the workspace's 60/min is tighter than the key's 600/min")
        #expect(decision?.remaining == 59)
        await runtime.close()
    }

    @Test func aRestartNeverGrantsMoreThanTheLimit() async throws {
        let directory = NSTemporaryDirectory() + "troupe-tenant-restart-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let clock = ManualClock(now: morning)
        let first = try await TroupeRuntime.open(path: path, clock: clock)
        let id = try await first.createTenant(name: "Acme", plan: .starter)
        let before = try await admitConcurrently(first, id, 25)
        #expect(before == 25)
        await first.close()
        // A new process, the same minute: whatever was granted before counts, and then some.
        let second = try await TroupeRuntime.open(path: path, clock: clock)
        let after = try await admitConcurrently(second, id, 100)
        #expect(before + after <= 60, "\(before) + \(after) granted within one minute")
        #expect(after >= 60 - 25 - 6, "at most one lease chunk (6) is lost to the restart")
        await second.close()
    }

    @Test func unlimitedPlansSkipTheWorkAndWriteNothing() async throws {
        var settings = RuntimeSettings()
        settings.apiKeyRequestsPerMinute = nil
        let runtime = try await TroupeRuntime.temporary(settings: settings)
        let id = try await runtime.createTenant(name: "Big", plan: .enterprise)
        let writes = runtime.store.writer.stats.committedChanges
        for _ in 0..<100 {
            #expect(try await runtime.tenants.call(id) { try await $0.admit(apiKeyID: "key_a") } == nil)
        }
        #expect(runtime.store.writer.stats.committedChanges == writes)
        await runtime.close()
    }

    /// `needsAdmission` is read without entering the actor and follows plan changes.
    @Test func needsAdmissionFollowsThePlanAndTheKeyLimit() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let id = try await runtime.createTenant(name: "Big", plan: .enterprise)
        #expect(try await runtime.tenants.peek(id) { $0.needsAdmission(byAPIKey: false) } == false)
        #expect(try await runtime.tenants.peek(id) { $0.needsAdmission(byAPIKey: true) } == true, "keys have 600/min by default")
        try await runtime.tenants.call(id) { try await $0.update(plan: .starter) }
        #expect(try await runtime.tenants.peek(id) { $0.needsAdmission(byAPIKey: false) } == true)
        try await runtime.tenants.call(id) { try await $0.update(plan: .enterprise) }
        #expect(try await runtime.tenants.peek(id) { $0.needsAdmission(byAPIKey: false) } == false)
        await #expect(throws: ActorRuntimeError.self) { try await runtime.tenants.peek("ws_absent") { _ in true } }
        await runtime.close()

        var settings = RuntimeSettings()
        settings.apiKeyRequestsPerMinute = nil
        let unlimitedKeys = try await TroupeRuntime.temporary(settings: settings)
        let big = try await unlimitedKeys.createTenant(name: "Big", plan: .enterprise)
        #expect(try await unlimitedKeys.tenants.peek(big) { $0.needsAdmission(byAPIKey: true) } == false)
        await unlimitedKeys.close()
    }

    @Test func limitsDoNotWriteOncePerRequest() async throws {
        let runtime = try await TroupeRuntime.temporary(clock: ManualClock(now: morning))
        let id = try await runtime.createTenant(name: "Acme", plan: .growth)
        let writes = runtime.store.writer.stats.committedChanges
        for _ in 0..<300 { _ = try await runtime.tenants.call(id) { try await $0.admit() } }
        let leaseWrites = runtime.store.writer.stats.committedChanges - writes
        #expect(leaseWrites <= 20, "\(leaseWrites) writes for 300 requests")
        await runtime.close()
    }

    @Test func renamingAndChangingThePlanPersist() async throws {
        let clock = ManualClock(now: morning)
        let runtime = try await TroupeRuntime.temporary(clock: clock, registry: { var c = ActorRegistry<TenantActor>.Configuration(); c.idleTTL = .seconds(1); return c }())
        let id = try await runtime.createTenant(name: "Acme", plan: .starter)
        try await runtime.tenants.call(id) { try await $0.update(name: "Acme Inc", plan: .growth) }
        clock.advance(by: .seconds(2))
        #expect(runtime.tenants.passivateIdle() == 1)
        let (name, plan, limits) = try await runtime.tenants.call(id) { ($0.name, $0.plan, $0.limits) }
        #expect(name == "Acme Inc" && plan == .growth && limits.requestsPerMinute == 300)
        await runtime.close()
    }

    @Test func tenantStateRoundTripsThroughItsSnapshot() throws {
        var state = TenantState(name: "Ünïcode \"quoted\"", plan: .growth, createdAt: morning)
        state.minuteLease = 123
        state.dailyLeaseDay = 20_000
        state.dailyLease = 42
        state.keyLeases = ["key_b": 7, "key_a": 9]
        let decoded = try TenantState(decoding: JSON.parse(state.encoded().bytes), schemaVersion: 1)
        #expect(decoded == state)
        #expect(throws: SnapshotError.self) { try TenantState(decoding: state.encoded(), schemaVersion: 2) }
        #expect(throws: SnapshotError.self) { try TenantState(decoding: ["name": "x"], schemaVersion: 1) }
    }

    /// Leases read back from a damaged snapshot (at the end of the range) neither trap nor
    /// refuse the workspace for ever: they are capped at two minutes ahead.
    @Test func aDamagedLeaseRefusesForTwoMinutesAtMostAndNeverTraps() async throws {
        let clock = ManualClock(now: morning)
        var settings = RuntimeSettings()
        settings.plans[.starter] = PlanLimits(requestsPerMinute: 60, requestsPerDay: 1000)
        let runtime = try await TroupeRuntime.temporary(clock: clock, settings: settings)
        var state = TenantState(name: "Acme", plan: .starter, createdAt: morning)
        state.minuteLease = .max
        state.dailyLeaseDay = DailyQuota.utcDay(of: morning) + 1
        state.dailyLease = .max
        let id = "ws_damagedleases000000"
        try await runtime.store.save(state, kind: TenantActor.kind, id: id, at: morning)
        let refused = try await runtime.tenants.call(id) { try await $0.admit() }
        #expect(refused?.allowed == false)
        #expect((refused?.retryAfterSeconds ?? 0) <= 120)
        clock.advance(by: .seconds(121))
        #expect(try await runtime.tenants.call(id) { try await $0.admit() }?.allowed == true)
        await runtime.close()
    }
}

/// The README's embedding example, as written there.
@Test func theREADMEEmbeddingExampleWorksAsWritten() async throws {
    let clock = ManualClock()
    let runtime = try await TroupeRuntime.temporary(clock: clock)
    let workspace = try await runtime.createTenant(name: "Acme", plan: .starter)
    let decision = try await runtime.tenants.call(workspace) { tenant in try await tenant.admit() }
    #expect(decision?.remaining == 59)
    clock.advance(by: .seconds(301))
    #expect(runtime.tenants.passivateIdle() == 1)
    await runtime.close()
}
