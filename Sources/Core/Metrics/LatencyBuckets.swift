/// A fixed-bucket latency histogram (µs), rendered later as Prometheus buckets: activation
/// latency in the actor registry, commit latency in the group-commit writer.
public struct LatencyBuckets: Sendable, Equatable {
    /// Upper bounds of the buckets in µs; the last bucket counts everything above.
    public static let boundsMicroseconds: [Int64] = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000, 250_000, 1_000_000]
    public private(set) var counts = [Int](repeating: 0, count: boundsMicroseconds.count + 1)
    /// The sum of every recorded duration, in µs.
    public private(set) var sumMicroseconds: Int64 = 0

    public init() {}

    public mutating func record(_ duration: Duration) {
        let micros = duration.nanoseconds / 1000
        let index = Self.boundsMicroseconds.firstIndex { micros <= $0 } ?? Self.boundsMicroseconds.count
        counts[index] += 1
        sumMicroseconds += micros
    }

    public var total: Int { counts.reduce(0, +) }

    /// The Prometheus exposition of this histogram under `name` (seconds), with its HELP line.
    public func prometheus(name: String, help: String) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (index, bound) in Self.boundsMicroseconds.enumerated() {
            cumulative += counts[index]
            out += "\(name)_bucket{le=\"\(Double(bound) / 1e6)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(total)\n"
        out += "\(name)_sum \(Double(sumMicroseconds) / 1e6)\n"
        out += "\(name)_count \(total)\n"
        return out
    }
}
