import TroupeCore

/// A requests-per-UTC-day quota that resets at 00:00 UTC.
public struct DailyQuota: Sendable, Equatable {
    public let limit: Int
    /// The UTC day counted (days since the epoch).
    public private(set) var day: Int64
    /// Requests admitted on `day`.
    public private(set) var used: Int

    public init(limit: Int, day: Int64 = 0, used: Int = 0) {
        self.limit = limit
        self.day = day
        self.used = used
    }

    public static func utcDay(of instant: Timestamp) -> Int64 {
        let micros = instant.microsecondsSinceEpoch
        let perDay: Int64 = 86_400_000_000
        return micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay
    }

    /// Decides one request at `now`, and counts it when allowed.
    public mutating func admit(at now: Timestamp) -> RateDecision {
        let today = Self.utcDay(of: now)
        if today != day {
            day = today
            used = 0
        }
        let nextMidnight = (today + 1) * 86_400_000_000
        guard used < limit else {
            return RateDecision(
                allowed: false, limit: limit, remaining: 0, resetMicroseconds: nextMidnight,
                retryAfterMicroseconds: nextMidnight - now.microsecondsSinceEpoch)
        }
        used += 1
        return RateDecision(
            allowed: true, limit: limit, remaining: limit - used, resetMicroseconds: nextMidnight, retryAfterMicroseconds: 0)
    }
}
