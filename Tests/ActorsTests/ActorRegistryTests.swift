import Foundation
import Testing
import TroupeCore
@testable import TroupeActors
@testable import TroupePersistence

/// A managed actor for tests: a durable count that can be told to fault.
actor CounterActor: ManagedActor {
    struct State: Snapshot, Equatable {
        static let schemaVersion = 1
        var count: Int64
        func encoded() -> JSON { ["count": .int(count)] }
        init(count: Int64) { self.count = count }
        init(decoding json: JSON, schemaVersion: Int) throws(SnapshotError) {
            guard let count = json["count"]?.intValue else { throw SnapshotError("no count") }
            self.count = count
        }
    }

    struct Boom: Error {}

    static let kind = "counter"
    let id: String
    let context: ActorContext
    private(set) var count: Int64

    init(id: String, state: State, context: ActorContext) {
        self.id = id
        self.context = context
        count = state.count
    }

    /// Durable: decided synchronously, then committed, then acknowledged.
    func increment() async throws -> Int64 {
        let next = count + 1
        try await context.store.save(State(count: next), kind: Self.kind, id: id, at: context.clock.now)
        count = max(count, next)
        return count
    }

    /// Changes memory without committing, then faults: the change must not survive.
    func corruptMemoryAndFault() throws {
        count = 1_000
        throw Boom()
    }

    /// Changes memory, then meets a full writer queue, as a commit under a flood does.
    func corruptMemoryAndMeetOverload() throws {
        count = 1_000
        throw SQLiteError(kind: .overloaded, code: 0, message: "too many changes are waiting")
    }

    func wait(for gate: Gate) async { await gate.wait() }
}

/// Holds callers until opened.
final class Gate: Sendable {
    private let latch = Latch()
    func wait() async { await latch.wait() }
    func open() { latch.open() }
}

@Suite(.timeLimit(.minutes(5)))
struct ActorRegistryTests {
    private func makeRegistry(
        _ runtime: TroupeRuntime, _ configure: (inout ActorRegistry<CounterActor>.Configuration) -> Void = { _ in }
    ) -> ActorRegistry<CounterActor> {
        var configuration = ActorRegistry<CounterActor>.Configuration()
        configure(&configuration)
        return ActorRegistry(context: runtime.tenants.context, configuration: configuration)
    }

    private func createCounter(_ runtime: TroupeRuntime, _ id: String = RandomID.make(prefix: "ctr")) async throws -> String {
        try await runtime.store.save(CounterActor.State(count: 0), kind: CounterActor.kind, id: id, at: runtime.clock.now)
        return id
    }

    @Test func concurrentFirstCallsActivateExactlyOnce() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let registry = makeRegistry(runtime)
        let id = try await createCounter(runtime)
        let counts = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<100 { group.addTask { try await registry.call(id) { $0.count } } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counts.count == 100)
        #expect(registry.statistics.activations == 1)
        #expect(registry.statistics.activationLatency.total == 1)
        await runtime.close()
    }

    @Test func unknownIDsAreNotFoundNeverABlankActor() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let registry = makeRegistry(runtime)
        let error = await #expect(throws: ActorRuntimeError.self) { try await registry.call("ctr_missing") { $0.count } }
        #expect(error?.code == .notFound)
        #expect(registry.residentCount == 0)
        await runtime.close()
    }

    @Test func idleActorsArePassivatedAndComeBackWithTheirState() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let registry = makeRegistry(runtime) { $0.idleTTL = .seconds(300) }
        let id = try await createCounter(runtime)
        _ = try await registry.call(id) { try await $0.increment() }
        clock.advance(by: .seconds(299))
        #expect(registry.passivateIdle() == 0)
        clock.advance(by: .seconds(1))
        #expect(registry.passivateIdle() == 1)
        #expect(!registry.isResident(id))
        #expect(try await registry.call(id) { $0.count } == 1)
        #expect(registry.statistics.activations == 2)
        #expect(registry.statistics.passivations == 1)
        await runtime.close()
    }

    @Test func theResidentCapPassivatesTheLeastRecentlyUsed() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let registry = makeRegistry(runtime) { $0.maxResident = 10 }
        var ids: [String] = []
        for _ in 0..<10 { ids.append(try await createCounter(runtime)) }
        for id in ids {
            _ = try await registry.call(id) { $0.count }
            clock.advance(by: .seconds(1))
        }
        _ = try await registry.call(ids[0]) { $0.count }  // the oldest is used again
        let newcomer = try await createCounter(runtime)
        _ = try await registry.call(newcomer) { $0.count }
        #expect(registry.residentCount == 9, "down to 90 % of the cap")
        #expect(registry.isResident(ids[0]), "recently used stays")
        #expect(!registry.isResident(ids[1]) && !registry.isResident(ids[2]), "least recently used go")
        #expect(registry.isResident(newcomer))
        await runtime.close()
    }

    /// DESIGN.md: overload is never counted as a fault of the actor that met it — a flood that
    /// fills the writer's queue must not quarantine the workspace it hit.
    @Test func overloadDiscardsTheInstanceButIsNeverAFault() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let registry = makeRegistry(runtime)
        let id = try await createCounter(runtime)
        _ = try await registry.call(id) { try await $0.increment() }
        for _ in 0..<20 {
            await #expect(throws: SQLiteError.self) { try await registry.call(id) { try $0.corruptMemoryAndMeetOverload() } }
        }
        #expect(registry.statistics.restarts == 0)
        #expect(registry.statistics.quarantines == 0)
        #expect(try await registry.call(id) { $0.count } == 1, "the uncommitted change went with the discarded instance")
        await runtime.close()
    }

    @Test func aFaultRestartsFromTheLastCommittedSnapshot() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let registry = makeRegistry(runtime)
        let id = try await createCounter(runtime)
        for _ in 0..<3 { _ = try await registry.call(id) { try await $0.increment() } }
        await #expect(throws: CounterActor.Boom.self) { try await registry.call(id) { try $0.corruptMemoryAndFault() } }
        #expect(!registry.isResident(id), "the faulted instance is discarded")
        #expect(try await registry.call(id) { $0.count } == 3, "memory-only changes are gone; committed ones stay")
        #expect(registry.statistics.restarts == 1)
        await runtime.close()
    }

    @Test func repeatedFaultsQuarantineWithBackoffThenRelease() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let registry = makeRegistry(runtime)
        let id = try await createCounter(runtime)
        let sibling = try await createCounter(runtime)
        for fault in 0..<6 {
            if fault > 0 { clock.advance(by: .seconds(5)) }  // six faults within 25 s
            await #expect(throws: CounterActor.Boom.self) { try await registry.call(id) { try $0.corruptMemoryAndFault() } }
        }
        #expect(registry.statistics.restarts == 5)
        #expect(registry.statistics.quarantines == 1)
        let quarantined = await #expect(throws: ActorRuntimeError.self) { try await registry.call(id) { $0.count } }
        #expect(quarantined?.code == .quarantined)
        #expect(quarantined?.retryAfter == .seconds(1))
        #expect(try await registry.call(sibling) { try await $0.increment() } == 1, "siblings do not notice")
        clock.advance(by: .seconds(1))
        #expect(try await registry.call(id) { $0.count } == 0, "released after the back-off")
        await runtime.close()
    }

    @Test func aFullMailboxRefusesAtOnce() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let registry = makeRegistry(runtime) { $0.mailboxCapacity = 2 }
        let id = try await createCounter(runtime)
        let gate = Gate()
        let held = (0..<2).map { _ in Task { try await registry.call(id) { await $0.wait(for: gate) } } }
        while registry.statistics.activations == 0 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        let error = await #expect(throws: ActorRuntimeError.self) { try await registry.call(id) { $0.count } }
        #expect(error?.code == .overloaded)
        #expect(registry.statistics.overloadRejections == 1)
        gate.open()
        for task in held { try await task.value }
        #expect(try await registry.call(id) { $0.count } == 0)
        await runtime.close()
    }

    @Test func aSnapshotThatDoesNotDecodeIsReportedAndQuarantinedNotReset() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let registry = makeRegistry(runtime)
        let id = "ctr_broken"
        try await runtime.store.writer.submit { db in
            try db.execute("INSERT INTO snapshots (kind, id, schema_version, state, created_at, updated_at) VALUES ('counter', ?, 1, ?, 0, 0)",
                           [.text(id), .blob(Array(#"{"count":"many"}"#.utf8))])
        }
        let error = await #expect(throws: ActorRuntimeError.self) { try await registry.call(id) { $0.count } }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.message.contains(id) == true)
        #expect(registry.statistics.corruptSnapshots == 1)
        let again = await #expect(throws: ActorRuntimeError.self) { try await registry.call(id) { $0.count } }
        #expect(again?.code == .quarantined)
        let stored = try await runtime.store.load(kind: "counter", id: id)
        #expect(stored?.state == Array(#"{"count":"many"}"#.utf8), "the stored state is kept for an operator")
        await runtime.close()
    }
}
