import TroupeCore

/// API.md's login throttle: after ``maxFailures`` failed logins for one email within
/// ``window``, further logins for it are refused (429) until the oldest of those failures
/// leaves the window — whether or not the email belongs to anyone, so the answer tells an
/// attacker nothing.
///
/// Kept in memory, keyed by the lowercased email: bounded to ``maxTracked`` emails (past it,
/// emails whose failures all left the window are dropped first, then the oldest). A restart
/// forgets the counts, which only ever makes the throttle looser for 15 minutes, never wrong.
final class LoginThrottle: Sendable {
    static let maxFailures = 10
    static let window = Duration.seconds(15 * 60)
    static let maxTracked = 100_000

    /// The failures of each email within the window, oldest first (at most ``maxFailures``).
    private let failures = LockedBox([String: [Timestamp]]())

    /// Seconds until `email` may try again, or nil when it may now.
    func retryAfter(email: String, at now: Timestamp) -> Int64? {
        failures.withLock { failures -> Int64? in
            guard let times = failures[email] else { return nil }
            let recent = times.filter { now - $0 < Self.window }
            failures[email] = recent.isEmpty ? nil : recent
            guard recent.count >= Self.maxFailures, let oldest = recent.first else { return nil }
            let remaining = Self.window - (now - oldest)
            return max(1, (remaining.nanoseconds + 999_999_999) / 1_000_000_000)
        }
    }

    /// A login for `email` failed.
    func recordFailure(email: String, at now: Timestamp) {
        failures.withLock { failures in
            if failures[email] == nil, failures.count >= Self.maxTracked { Self.makeRoom(in: &failures, at: now) }
            var times = failures[email, default: []].filter { now - $0 < Self.window }
            times.append(now)
            failures[email] = Array(times.suffix(Self.maxFailures))
        }
    }

    /// Emails with failures kept now.
    var trackedCount: Int { failures.value.count }

    /// A login for `email` succeeded: its failures are forgotten.
    func recordSuccess(email: String) {
        failures.withLock { _ = $0.removeValue(forKey: email) }
    }

    /// Drops the emails whose failures left the window; if none did, the one whose latest
    /// failure is oldest.
    private static func makeRoom(in failures: inout [String: [Timestamp]], at now: Timestamp) {
        failures = failures.filter { entry in entry.value.last.map { now - $0 < window } ?? false }
        if failures.count >= maxTracked, let stalest = failures.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key {
            failures.removeValue(forKey: stalest)
        }
    }
}
