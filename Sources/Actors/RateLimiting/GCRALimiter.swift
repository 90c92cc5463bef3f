import TroupeCore

/// A requests-per-period limit as the generic cell rate algorithm (GCRA), which is a token
/// bucket kept as one number: the theoretical arrival time (TAT) of the next request.
///
/// With limit `L` per `period`, one request is "emitted" every `T = period / L`. A full bucket
/// admits a burst of `L` at once (API.md: "a burst of the full minute's budget"), then refills
/// smoothly, one request every `T`. A decision is a few integer operations on a value, so it is
/// exact wherever its owner serializes calls (an actor, a mutex).
public struct GCRALimiter: Sendable, Equatable {
    /// Requests per period.
    public let limit: Int
    public let period: Duration
    /// Microseconds between two requests at the steady rate.
    public let emissionInterval: Int64
    /// When the bucket would be full again (µs since the epoch); ≤ now means full.
    public private(set) var theoreticalArrival: Int64

    public init(limit: Int, period: Duration, theoreticalArrival: Int64 = 0) {
        self.limit = max(1, limit)
        self.period = period
        emissionInterval = max(1, period.nanoseconds / 1000 / Int64(max(1, limit)))
        self.theoreticalArrival = theoreticalArrival
    }

    /// Decides one request at `now`, and counts it when allowed. The arithmetic saturates: the
    /// arrival time is read back from a stored snapshot, which must never trap however damaged.
    public mutating func admit(at now: Timestamp) -> RateDecision {
        let now = now.microsecondsSinceEpoch
        let tat = max(theoreticalArrival, now)
        let capacity = emissionInterval.saturatingMultiplied(by: Int64(limit))
        let newTAT = tat.saturatingAdding(emissionInterval)
        let ahead = newTAT.saturatingSubtracting(now)
        guard ahead <= capacity else {
            return RateDecision(
                allowed: false, limit: limit, remaining: 0, resetMicroseconds: tat,
                retryAfterMicroseconds: ahead - capacity)
        }
        theoreticalArrival = newTAT
        let remaining = Int((capacity - ahead) / emissionInterval)
        return RateDecision(
            allowed: true, limit: limit, remaining: remaining, resetMicroseconds: newTAT, retryAfterMicroseconds: 0)
    }

    /// The decision `admit` would make at `now`, without counting anything.
    public func peek(at now: Timestamp) -> RateDecision {
        var copy = self
        return copy.admit(at: now)
    }
}

/// What a limiter decided: everything the `X-RateLimit-*` and `Retry-After` headers need.
public struct RateDecision: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int
    /// Requests still allowed right now after this one.
    public var remaining: Int
    /// When the limit is fully available again (µs since the epoch).
    public var resetMicroseconds: Int64
    /// How long to wait before a retry can succeed (0 when allowed).
    public var retryAfterMicroseconds: Int64

    /// `X-RateLimit-Reset`: Unix seconds, rounded up.
    public var resetUnixSeconds: Int64 { resetMicroseconds.saturatingAdding(999_999) / 1_000_000 }

    /// `Retry-After`: whole seconds, rounded up, at least 1 when denied.
    public var retryAfterSeconds: Int64 {
        allowed ? 0 : max(1, retryAfterMicroseconds.saturatingAdding(999_999) / 1_000_000)
    }

    /// Of two decisions for limits that both apply, the one to report: a denial wins, then
    /// the one with fewer requests remaining (API.md: "the tightest limit that applies").
    public func tighter(_ other: RateDecision) -> RateDecision {
        if allowed != other.allowed { return allowed ? other : self }
        return other.remaining < remaining ? other : self
    }
}
