import Synchronization
import TroupeCore
import TroupePersistence

/// Finds, activates, passivates and supervises the managed actors of one kind.
///
/// The hot path — finding a resident actor and admitting a message — is a `Mutex`-guarded
/// table, never an actor's mailbox. Only lifecycle work (activation, faults, quarantine) goes
/// through the ``RegistryLifecycle`` actor. Mailboxes are bounded: past
/// ``Configuration/mailboxCapacity`` messages in flight, a call fails at once with `overloaded`.
public final class ActorRegistry<A: ManagedActor>: Sendable {
    public struct Configuration: Sendable {
        /// Passivate an actor after this long without a message (API.md `idle_actor_ttl_s`).
        public var idleTTL: Duration = .seconds(300)
        /// Resident actors at most; past it the least recently used idle ones are passivated
        /// (down to 90 % of the cap, so the cost is paid once per many activations).
        public var maxResident = 100_000
        /// Messages in flight per actor at most.
        public var mailboxCapacity = 1024
        public var supervision = SupervisionPolicy.restart()

        public init() {}
    }

    public let configuration: Configuration
    public let context: ActorContext
    let table: ResidentTable
    let counters: LockedBox<RegistryStatistics>
    private let lifecycle: RegistryLifecycle<A>

    public init(context: ActorContext, configuration: Configuration = Configuration()) {
        self.context = context
        self.configuration = configuration
        table = ResidentTable()
        counters = LockedBox(RegistryStatistics())
        lifecycle = RegistryLifecycle(context: context, configuration: configuration, table: table, counters: counters)
    }

    /// Runs `body` on the actor `id`, activating it first if it is not resident.
    ///
    /// Throws ``ActorRuntimeError`` (`notFound`, `overloaded`, `quarantined`,
    /// `corruptSnapshot`) or what `body` threw. An error that is not an
    /// ``ExpectedActorError`` is a fault: the instance is discarded, and the next call
    /// reactivates the actor from its last committed snapshot. Overload met on the way (the
    /// writer's or a reader's queue full) also discards the instance, whose change did not
    /// commit, but is never counted as its fault: a flood never quarantines a workspace.
    public func call<R: Sendable>(_ id: String, _ body: @Sendable (isolated A) async throws -> R) async throws -> R {
        let actor = try await acquire(id)
        do {
            let result = try await body(actor)
            table.release(id, actor)
            return result
        } catch {
            table.release(id, actor)
            if (error as? SQLiteError)?.kind == .overloaded {
                table.remove(id, ifSame: actor)
            } else if !(error is any ExpectedActorError), !(error is CancellationError) {
                await lifecycle.recordFault(id: id, actor: actor)
            }
            throw error
        }
    }

    /// Runs `body` with the actor `id` (activated first if need be) without entering its
    /// isolation: for what the actor publishes in nonisolated, thread-safe storage. Counts as a
    /// message for the mailbox and idle time like ``call(_:_:)``, without an executor hop.
    public func peek<R>(_ id: String, _ body: (A) -> R) async throws -> R {
        let actor = try await acquire(id)
        defer { table.release(id, actor) }
        return body(actor)
    }

    private func acquire(_ id: String) async throws -> A {
        while true {
            let now = context.clock.now.microsecondsSinceEpoch
            switch table.admit(id, capacity: configuration.mailboxCapacity, now: now) {
            case .admitted(let actor):
                // Safe: this registry is the only one to insert into its table, and only `A`s.
                return unsafeDowncast(actor, to: A.self)
            case .full:
                counters.withLock { $0.overloadRejections += 1 }
                throw ActorRuntimeError(
                    .overloaded, kind: A.kind, id: id, message: "Too many requests are queued for this \(A.kind).",
                    retryAfter: .seconds(1))
            case .absent:
                try await lifecycle.activate(id)
            }
        }
    }

    /// Passivates every actor idle for ``Configuration/idleTTL``; returns how many. Their state
    /// is already durable, so passivation only drops memory.
    @discardableResult
    public func passivateIdle() -> Int {
        let cutoff = context.clock.now.microsecondsSinceEpoch - configuration.idleTTL.nanoseconds / 1000
        let count = table.removeIdle(lastUsedAtOrBefore: cutoff)
        counters.withLock { $0.passivations += count }
        return count
    }

    /// Passivates `id` now if it is resident with no message in flight (a run that finished
    /// need not wait out its idle time); whether it did.
    @discardableResult
    public func passivate(_ id: String) -> Bool {
        guard table.removeIfIdle(id) else { return false }
        counters.withLock { $0.passivations += 1 }
        return true
    }

    /// Passivates every actor with no message in flight (a clean shutdown, a benchmark).
    @discardableResult
    public func passivateAll() -> Int {
        let count = table.removeIdle(lastUsedAtOrBefore: .max)
        counters.withLock { $0.passivations += count }
        return count
    }

    /// Whether `id` is resident now.
    public func isResident(_ id: String) -> Bool { table.contains(id) }

    public var residentCount: Int { table.count }

    public var statistics: RegistryStatistics {
        var snapshot = counters.value
        snapshot.resident = table.count
        return snapshot
    }
}
