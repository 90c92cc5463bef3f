import Glibc

/// When each request of an open-loop run is due, as offsets from the run's start, following
/// its phases: constant arrivals (the k-th request at the time k requests are due) or Poisson
/// ones (exponential gaps at the rate of the moment, drawn from a seeded generator, so that a
/// run can be repeated). Requests start at these times whether or not earlier ones have been
/// answered, and their latency is measured from them: no coordinated omission.
public struct ArrivalSchedule: Sendable {
    public enum Process: String, Sendable {
        case constant
        case poisson
    }

    public let phases: [LoadPhase]
    public let process: Process
    private var generator: SplitMix64
    private var phaseIndex = 0
    /// Seconds from the run's start to the current phase's start.
    private var phaseStart = 0.0
    /// Constant: arrivals issued in the current phase. Poisson: the last arrival's time in it.
    private var issued = 0.0
    private var last = 0.0

    public init(phases: [LoadPhase], process: Process = .constant, seed: UInt64 = 0x7472_6F75_7065) {
        self.phases = phases
        self.process = process
        generator = SplitMix64(seed: seed)
    }

    /// The run's whole length.
    public var seconds: Double { phases.reduce(0) { $0 + $1.seconds } }

    /// The next arrival, in seconds from the start; nil once the last phase is over.
    public mutating func next() -> Double? {
        while phaseIndex < phases.count {
            let phase = phases[phaseIndex]
            switch process {
            case .constant:
                if let at = phase.time(ofArrival: issued + 1) {
                    issued += 1
                    return phaseStart + at
                }
            case .poisson:
                // Thinning: candidates at the phase's highest rate, each kept with the share of
                // the rate at its time.
                let peak = max(phase.from, phase.to)
                while peak > 0 {
                    last += -log(1 - generator.nextUnit()) / peak
                    guard last < phase.seconds else { break }
                    let rate = phase.from + (phase.to - phase.from) * last / phase.seconds
                    if generator.nextUnit() * peak < rate { return phaseStart + last }
                }
            }
            phaseStart += phase.seconds
            phaseIndex += 1
            issued = 0
            last = 0
        }
        return nil
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
