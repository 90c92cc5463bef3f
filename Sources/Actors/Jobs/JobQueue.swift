import TroupeCore
import TroupePersistence

/// The worker protocol's use cases (API.md, Jobs; DESIGN.md, "Use cases, time and routes"):
/// create a job, claim with a wait, heartbeat, complete, fail, and the dead-letter queue's
/// retry and delete; a finished job of a run goes to its run in the same transaction
/// (``RunEngine/finishJob(workspaceID:id:at:jobs:origin:_:)``). It also fires the jobs' rows on
/// the durable clock (``JobTimers``): a lease that expired, a back-off that ended. Knows no HTTP.
public final class JobQueue: Sendable {
    /// What a claim asks for.
    public struct Claim: Sendable {
        public var queues: [String]
        public var workerID: String
        /// How long to wait for a job when none is claimable (zero: answer at once).
        public var wait: Duration
        public var lease: Duration

        public init(queues: [String], workerID: String, wait: Duration, lease: Duration) {
            self.queues = queues
            self.workerID = workerID
            self.wait = wait
            self.lease = lease
        }
    }

    public let store: JobStore
    private let runs: RunEngine
    private let claimers: JobClaimers
    private let clock: any WallClock

    init(store: JobStore, runs: RunEngine, claimers: JobClaimers, clock: any WallClock, scheduler: Scheduler) {
        self.store = store
        self.runs = runs
        self.claimers = claimers
        self.clock = clock
        scheduler.register(JobTimers.leaseKind) { [self] work in try await expireLease(work) }
        scheduler.register(JobTimers.availableKind) { [store, clock] work in try await store.endBackoff(workspaceID: work.workspaceID, id: work.key, at: clock.now) }
    }

    /// Stores a standalone job.
    public func create(_ job: JobRecord, origin: ChangeOrigin) async throws {
        try await store.insert(job, origin: origin)
    }

    /// A job of `claim.queues` leased to its worker, waiting up to `claim.wait` for one (nil
    /// when none came, or at once when `stopWaiting` says the server drains).
    public func claim(_ claim: Claim, in workspaceID: String, stopWaiting: @Sendable () -> Bool = { false },
                      origin: ChangeOrigin) async throws -> JobRecord? {
        let deadline = ContinuousClock.now + claim.wait
        let token = "lease_" + SecretGenerator.alphanumeric(32)
        while true {
            if let job = try await store.claim(workspaceID: workspaceID, queues: claim.queues, workerID: claim.workerID, token: token,
                                               lease: claim.lease, at: clock.now, origin: origin) {
                return job
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, !stopWaiting() else { return nil }
            // Woken by a job made claimable (queued, or its back-off ended); the second bounds a
            // wake-up that came between the look above and this wait.
            await claimers.wait(workspaceID: workspaceID, queues: Set(claim.queues), timeout: min(remaining, .seconds(1)))
        }
    }

    /// Extends the lease `token` holds by `lease` from now.
    public func heartbeat(_ id: String, in workspaceID: String, token: String, lease: Duration, origin: ChangeOrigin) async throws -> JobRecord {
        let now = clock.now
        return try await store.update(workspaceID: workspaceID, id: id, at: now, origin: origin) { job throws(JobMachine.Refusal) in
            _ = try job.machine.heartbeat(token: token, at: now, lease: lease)
        }
    }

    /// Completes the job `token` leases, with its output and usage.
    public func complete(_ id: String, in workspaceID: String, token: String, output: JSON?, usage: JSON?, origin: ChangeOrigin) async throws -> JobRecord {
        let now = clock.now
        return try await runs.finishJob(workspaceID: workspaceID, id: id, at: now, jobs: store, origin: origin) { job throws(JobMachine.Refusal) in
            try job.machine.complete(token: token, at: now)
            job.output = output
            job.usage = usage
        }
    }

    /// Fails the attempt `token` leases: back to the queue after a back-off, or dead.
    public func fail(_ id: String, in workspaceID: String, token: String, error: JSON, retryable: Bool, origin: ChangeOrigin) async throws -> JobRecord {
        let now = clock.now
        let jitter = Double.random(in: 0..<1)
        return try await runs.finishJob(workspaceID: workspaceID, id: id, at: now, jobs: store, origin: origin) { job throws(JobMachine.Refusal) in
            _ = try job.machine.fail(token: token, at: now, error: error, retryable: retryable, jitter: jitter)
        }
    }

    /// Puts a dead job back in its queue.
    public func retryDead(_ id: String, in workspaceID: String, origin: ChangeOrigin) async throws -> JobRecord {
        let now = clock.now
        return try await store.update(workspaceID: workspaceID, id: id, at: now, origin: origin) { job throws(JobMachine.Refusal) in
            try job.machine.requeue(at: now)
        }
    }

    /// A `job.lease` row fell due: the lease, if still expired, counts as a failed attempt, and
    /// a job of a run that died goes to its run.
    private func expireLease(_ work: DueWork) async throws {
        if let job = try await store.expireLease(workspaceID: work.workspaceID, id: work.key, at: clock.now) { await runs.handOver(job) }
    }
}
