import TroupeCore

/// One job's lease and retry state machine (API.md, Jobs) as a value.
///
/// A job is claimable when `queued` and available (`available_at` reached: a failed attempt
/// queues it again after its back-off); a claim leases it to one worker under a fresh token. Heartbeat, complete and fail must carry
/// the current token of a lease that has not expired; anything else is refused (409) and
/// changes nothing, so at most one completion per job is ever accepted. A failed attempt (a
/// `fail`, or a lease that expired) is retried after an exponential back-off with jitter while
/// attempts remain and the failure is retryable; otherwise the job is `dead`.
public struct JobMachine: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case queued
        case leased
        case succeeded
        case dead
        case cancelled
    }

    /// What an ended attempt means for the job's step.
    public enum Outcome: Sendable, Equatable {
        /// Another attempt comes at `at`.
        case retry(at: Timestamp)
        /// No attempt remains: the step fails for good.
        case dead
    }

    /// A refused event (409).
    public struct Refusal: Error, Sendable, Equatable {
        public let message: String
    }

    public static let firstBackoff = Duration.seconds(1)
    public static let maxBackoff = Duration.seconds(300)

    public private(set) var status: Status = .queued
    public private(set) var attempts = 0
    public let maxAttempts: Int
    public private(set) var leaseToken: String?
    public private(set) var leaseExpiresAt: Timestamp?
    public private(set) var availableAt: Timestamp
    /// The last failure's `{code, message}`.
    public private(set) var lastError: JSON?

    public init(maxAttempts: Int, availableAt: Timestamp) {
        self.maxAttempts = max(1, maxAttempts)
        self.availableAt = availableAt
    }

    /// A job as stored.
    public init(
        status: Status, attempts: Int, maxAttempts: Int, leaseToken: String?, leaseExpiresAt: Timestamp?, availableAt: Timestamp,
        lastError: JSON?
    ) {
        self.status = status
        self.attempts = attempts
        self.maxAttempts = max(1, maxAttempts)
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
        self.availableAt = availableAt
        self.lastError = lastError
    }

    public func isClaimable(at now: Timestamp) -> Bool {
        status == .queued && !(now < availableAt)
    }

    /// Leases the job under `token` until `now + lease`.
    public mutating func claim(token: String, at now: Timestamp, lease: Duration) throws(Refusal) {
        guard isClaimable(at: now) else { throw Refusal(message: "The job is \(status.rawValue) and cannot be claimed now.") }
        status = .leased
        attempts = attempts < Int.max ? attempts + 1 : attempts  // read from a stored row: never trap
        leaseToken = token
        leaseExpiresAt = now + lease
    }

    /// Extends the lease to `now + lease`; returns the new expiry.
    public mutating func heartbeat(token: String, at now: Timestamp, lease: Duration) throws(Refusal) -> Timestamp {
        try checkLease(token, at: now)
        let expiry = now + lease
        leaseExpiresAt = expiry
        return expiry
    }

    public mutating func complete(token: String, at now: Timestamp) throws(Refusal) {
        try checkLease(token, at: now)
        status = .succeeded
        endLease()
    }

    /// Ends the attempt as failed. `jitter` in [0, 1) spreads the back-off by ±25 %.
    public mutating func fail(token: String, at now: Timestamp, error: JSON, retryable: Bool, jitter: Double) throws(Refusal) -> Outcome {
        try checkLease(token, at: now)
        lastError = error
        return attemptFailed(at: now, retryable: retryable, jitter: jitter)
    }

    /// Counts a lease that expired without a heartbeat as a failed attempt; nil when the job
    /// holds no expired lease.
    public mutating func expireLease(at now: Timestamp, jitter: Double) -> Outcome? {
        guard status == .leased, let expiry = leaseExpiresAt, !(now < expiry) else { return nil }
        lastError = ["code": "lease_expired", "message": "The worker's lease expired without a heartbeat."]
        return attemptFailed(at: now, retryable: true, jitter: jitter)
    }

    /// Cancels a job that has not finished (its run was cancelled).
    public mutating func cancel() throws(Refusal) {
        guard status == .queued || status == .leased else { throw Refusal(message: "The job is \(status.rawValue) already.") }
        status = .cancelled
        endLease()
    }

    /// Takes a dead job out of the DLQ: queued again now, with its attempts reset.
    public mutating func requeue(at now: Timestamp) throws(Refusal) {
        guard status == .dead else { throw Refusal(message: "Only a dead job is retried from the DLQ; this one is \(status.rawValue).") }
        status = .queued
        attempts = 0
        availableAt = now
    }

    /// The delay before the attempt after attempt `attempt` (1-based): 1 s, 2 s, 4 s … at most
    /// 5 min, each spread by ±25 % with `jitter` in [0, 1).
    public static func backoff(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let base = min(Double(firstBackoff.components.seconds) * pow2(attempt > 1 ? attempt - 1 : 0), Double(maxBackoff.components.seconds))
        let spread = base * (0.75 + 0.5 * min(max(jitter, 0), 1))
        return .milliseconds(Int64(min(spread, Double(maxBackoff.components.seconds)) * 1000))
    }

    private static func pow2(_ exponent: Int) -> Double {
        exponent >= 30 ? Double(1 << 30) : Double(1 << exponent)
    }

    private func checkLease(_ token: String, at now: Timestamp) throws(Refusal) {
        // The token is a bearer secret: compared in constant time, so a worker cannot learn a
        // lease's token byte by byte from how long a refusal takes.
        guard status == .leased, let leaseToken, ConstantTime.equals(leaseToken.utf8, token.utf8) else {
            throw Refusal(message: status == .leased ? "This lease token is stale: another attempt holds the job." : "The job is \(status.rawValue); its lease is gone.")
        }
        guard let expiry = leaseExpiresAt, now < expiry else { throw Refusal(message: "The lease expired; the job will be retried.") }
    }

    private mutating func attemptFailed(at now: Timestamp, retryable: Bool, jitter: Double) -> Outcome {
        endLease()
        guard retryable, attempts < maxAttempts else {
            status = .dead
            return .dead
        }
        status = .queued
        availableAt = now + Self.backoff(afterAttempt: attempts, jitter: jitter)
        return .retry(at: availableAt)
    }

    private mutating func endLease() {
        leaseToken = nil
        leaseExpiresAt = nil
    }
}
