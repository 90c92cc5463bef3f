/// One stretch of a scenario's load: a target arrival rate (requests per second, per workspace
/// of its class) held, or moved linearly from `from` to `to`, for `seconds`.
public struct LoadPhase: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// From `from` to `to`, linearly.
        case ramp
        /// `rate` throughout.
        case steady
        /// `rate` throughout, reported as a spike.
        case spike
    }

    public let kind: Kind
    /// The rate at the phase's start and end (equal but for a ramp).
    public let from: Double
    public let to: Double
    public let seconds: Double

    public init(kind: Kind, from: Double, to: Double, seconds: Double) {
        self.kind = kind
        self.from = from
        self.to = to
        self.seconds = seconds
    }

    public static func steady(_ rate: Double, seconds: Double) -> LoadPhase { LoadPhase(kind: .steady, from: rate, to: rate, seconds: seconds) }

    /// Arrivals expected in the first `t` seconds of the phase: the integral of the rate.
    func expectedArrivals(within t: Double) -> Double {
        let t = min(max(t, 0), seconds)
        return from * t + (to - from) * t * t / (2 * seconds)
    }

    /// The time (seconds into the phase) by which `n` arrivals are expected: the inverse of
    /// ``expectedArrivals(within:)``; nil when the phase ends first.
    func time(ofArrival n: Double) -> Double? {
        guard n <= expectedArrivals(within: seconds) else { return nil }
        let slope = (to - from) / seconds
        if abs(slope) < 1e-12 { return from > 0 ? n / from : nil }
        // slope/2 t² + from t − n = 0, the root in [0, seconds].
        let discriminant = from * from + 2 * slope * n
        return (-from + discriminant.squareRoot()) / slope
    }
}
