import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct JobMachineTests {
    private let t0 = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)
    private let lease = Duration.seconds(30)

    @Test func oneLeaseAtATimeAndOneCompletion() throws {
        var job = JobMachine(maxAttempts: 3, availableAt: t0)
        try job.claim(token: "t1", at: t0, lease: lease)
        #expect(job.status == .leased)
        #expect(job.attempts == 1)
        #expect(throws: JobMachine.Refusal.self) { try job.claim(token: "t2", at: t0, lease: lease) }
        #expect(try job.heartbeat(token: "t1", at: t0 + .seconds(20), lease: lease) == t0 + .seconds(50))
        #expect(throws: JobMachine.Refusal.self) { try job.complete(token: "stale", at: t0) }
        try job.complete(token: "t1", at: t0 + .seconds(40))
        #expect(job.status == .succeeded)
        #expect(job.leaseToken == nil)
        #expect(throws: JobMachine.Refusal.self) { try job.complete(token: "t1", at: t0 + .seconds(41)) }
        #expect(throws: JobMachine.Refusal.self) { try job.cancel() }
    }

    @Test func failuresBackOffThenDie() throws {
        var job = JobMachine(maxAttempts: 3, availableAt: t0)
        try job.claim(token: "a", at: t0, lease: lease)
        let first = try job.fail(token: "a", at: t0, error: ["code": "x"], retryable: true, jitter: 0.5)
        #expect(first == .retry(at: t0 + .seconds(1)))
        #expect(job.status == .queued)
        #expect(job.availableAt == t0 + .seconds(1))
        #expect(!job.isClaimable(at: t0 + .milliseconds(999)))
        #expect(job.isClaimable(at: t0 + .seconds(1)))
        // A stale token from the failed attempt changes nothing.
        #expect(throws: JobMachine.Refusal.self) { try job.complete(token: "a", at: t0 + .seconds(1)) }
        try job.claim(token: "b", at: t0 + .seconds(1), lease: lease)
        #expect(try job.fail(token: "b", at: t0 + .seconds(1), error: ["code": "x"], retryable: true, jitter: 0.5) == .retry(at: t0 + .seconds(3)))
        try job.claim(token: "c", at: t0 + .seconds(3), lease: lease)
        #expect(try job.fail(token: "c", at: t0 + .seconds(3), error: ["code": "x"], retryable: true, jitter: 0.5) == .dead)
        #expect(job.status == .dead)
        #expect(job.lastError == ["code": "x"])

        try job.requeue(at: t0 + .seconds(10))
        #expect(job.status == .queued)
        #expect(job.attempts == 0)
        #expect(throws: JobMachine.Refusal.self) { try job.requeue(at: t0) }
        try job.claim(token: "d", at: t0 + .seconds(10), lease: lease)
        #expect(try job.fail(token: "d", at: t0 + .seconds(10), error: ["code": "fatal"], retryable: false, jitter: 0) == .dead)
    }

    @Test func anExpiredLeaseIsAFailedAttempt() throws {
        var job = JobMachine(maxAttempts: 2, availableAt: t0)
        try job.claim(token: "a", at: t0, lease: lease)
        #expect(job.expireLease(at: t0 + .seconds(29), jitter: 0.5) == nil)
        #expect(throws: JobMachine.Refusal.self) { _ = try job.heartbeat(token: "a", at: t0 + .seconds(30), lease: lease) }
        #expect(job.expireLease(at: t0 + .seconds(30), jitter: 0.5) == .retry(at: t0 + .seconds(31)))
        #expect(job.lastError?["code"] == "lease_expired")
        #expect(throws: JobMachine.Refusal.self) { try job.complete(token: "a", at: t0 + .seconds(30)) }
        try job.claim(token: "b", at: t0 + .seconds(31), lease: lease)
        #expect(job.expireLease(at: t0 + .seconds(61), jitter: 0.5) == .dead)
    }

    @Test func cancelEndsAnUnfinishedJob() throws {
        var job = JobMachine(maxAttempts: 3, availableAt: t0)
        try job.claim(token: "a", at: t0, lease: lease)
        try job.cancel()
        #expect(job.status == .cancelled)
        #expect(throws: JobMachine.Refusal.self) { _ = try job.heartbeat(token: "a", at: t0, lease: lease) }
        #expect(!job.isClaimable(at: t0 + .seconds(3600)))
    }

    @Test func backoffDoublesUpToFiveMinutesWithJitter() {
        #expect((1...10).map { JobMachine.backoff(afterAttempt: $0, jitter: 0.5) }
            == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map { Duration.seconds($0) })
        #expect(JobMachine.backoff(afterAttempt: 1, jitter: 0) == .milliseconds(750))
        #expect(JobMachine.backoff(afterAttempt: 1, jitter: 0.999) == .milliseconds(1249))
        #expect(JobMachine.backoff(afterAttempt: 40, jitter: 0.999) == .seconds(300))
    }
}
