import Foundation
import Testing
import TroupeCore

@testable import TroupeActors

/// Jobs on the durable clock, driven by hand: a lease's expiry and a back-off's end are rows
/// written with the job, fired by the scheduler, kept across a restart.
@Suite(.timeLimit(.minutes(1)))
struct JobQueueTests {
    private func rows(_ runtime: TroupeRuntime) async throws -> [String] {
        try await runtime.store.reader.read { db in
            try db.query("SELECT kind || ' ' || key || ' ' || due_at FROM due_work ORDER BY kind") { $0.string(at: 0) ?? "" }
        }
    }

    private func job(_ runtime: TroupeRuntime) -> JobRecord {
        JobRecord(id: RandomID.make(prefix: "job"), workspaceID: "ws_a", queue: "q", runID: nil, stepID: nil, input: [:], maxAttempts: 3,
                  timeoutMilliseconds: 60_000, at: runtime.clock.now)
    }

    private func claim(_ runtime: TroupeRuntime, lease: Duration = .seconds(30), wait: Duration = .zero) async throws -> JobRecord? {
        try await runtime.jobs.claim(JobQueue.Claim(queues: ["q"], workerID: "w", wait: wait, lease: lease), in: "ws_a", origin: .system)
    }

    @Test func anExpiredLeaseIsAFailedAttemptAndTheEndOfItsBackoffWakesAWorker() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let queued = job(runtime)
        try await runtime.jobs.create(queued, origin: .system)
        #expect(try await rows(runtime).isEmpty, "a job available now has no row")
        let leased = try #require(try await claim(runtime))
        let expiry = try #require(leased.machine.leaseExpiresAt)
        #expect(try await rows(runtime) == ["job.lease \(queued.id) \(expiry.microsecondsSinceEpoch)"])

        // A heartbeat moves the row with the lease.
        clock.advance(by: .seconds(10))
        let renewed = try await runtime.jobs.heartbeat(queued.id, in: "ws_a", token: try #require(leased.machine.leaseToken), lease: .seconds(30),
                                                       origin: .system)
        let later = try #require(renewed.machine.leaseExpiresAt)
        #expect(try await rows(runtime) == ["job.lease \(queued.id) \(later.microsecondsSinceEpoch)"])
        clock.advance(to: expiry)
        try await runtime.scheduler.fireDue()
        #expect(try await runtime.jobs.store.job(workspaceID: "ws_a", id: queued.id)?.machine.status == .leased, "renewed: not expired")

        clock.advance(to: later)
        try await runtime.scheduler.fireDue()
        let expired = try #require(try await runtime.jobs.store.job(workspaceID: "ws_a", id: queued.id))
        #expect(expired.machine.status == .queued && expired.machine.attempts == 1)
        #expect(expired.machine.lastError?["code"] == "lease_expired")
        let available = expired.machine.availableAt
        #expect(available > later)
        #expect(try await rows(runtime) == ["job.available \(queued.id) \(available.microsecondsSinceEpoch)"])

        // A worker waiting on the queue is woken by the back-off's end (its row firing), not by
        // its wait's one-second look: it has left the waiters once the row has fired.
        let waiting = Task { try await claim(runtime, wait: .seconds(20)) }
        while runtime.store.journal.bus.claimers.count(workspaceID: "ws_a") == 0 { try await Task.sleep(for: .milliseconds(5)) }
        clock.advance(to: available)
        try await runtime.scheduler.fireDue()
        #expect(runtime.store.journal.bus.claimers.count(workspaceID: "ws_a") == 0)
        let second = try await waiting.value
        #expect(second?.id == queued.id && second?.machine.attempts == 2)
        _ = try await runtime.jobs.complete(queued.id, in: "ws_a", token: try #require(second?.machine.leaseToken), output: nil, usage: nil,
                                            origin: .system)
        #expect(try await rows(runtime).isEmpty, "a finished job leaves no row")
        await runtime.close()
    }

    @Test func aLeaseCutByAStopExpiresAfterTheRestart() async throws {
        let directory = NSTemporaryDirectory() + "troupe-jobs-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let first = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        let queued = job(first)
        try await first.jobs.create(queued, origin: .system)
        _ = try await claim(first, lease: .seconds(5))
        await first.close()
        clock.advance(by: .seconds(60))
        let second = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        #expect(try await second.scheduler.fireDue() >= 1)
        #expect(try await second.jobs.store.job(workspaceID: "ws_a", id: queued.id)?.machine.attempts == 1)
        // Back in its queue: claimable once its back-off (a second or two) has run.
        clock.advance(by: .seconds(10))
        #expect(try await claim(second)?.id == queued.id)
        await second.close()
    }
}
