/// Latencies in log buckets, HDR-style: every power of two is cut into ``subBuckets`` equal
/// buckets, so a bucket is never wider than 1/128 of the values in it and a percentile read
/// back (its bucket's midpoint) is within 0.4 % of the value recorded. Values are nanoseconds,
/// from 1 ns to 2^40 ns (18 minutes); larger ones are clamped to the top bucket and counted in
/// ``clamped``.
///
/// Fixed memory (41 × 128 counters), O(1) to record, and mergeable, so that each driver keeps
/// its own and the report adds them up.
public struct LatencyHistogram: Sendable, Equatable {
    public static let subBuckets = 128
    static let subBucketBits = 7
    static let maxExponent = 40
    public static let maxValue: UInt64 = 1 << UInt64(maxExponent)

    private var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var minimum: UInt64 = .max
    public private(set) var maximum: UInt64 = 0
    /// Recorded values past ``maxValue`` (recorded as ``maxValue``).
    public private(set) var clamped: UInt64 = 0
    private var sum: Double = 0

    public init() {
        counts = Array(repeating: 0, count: (Self.maxExponent + 1) * Self.subBuckets)
    }

    /// Records one value, in nanoseconds (0 counts as 1).
    public mutating func record(nanoseconds value: UInt64) {
        var value = max(value, 1)
        if value > Self.maxValue {
            value = Self.maxValue
            clamped += 1
        }
        counts[Self.index(of: value)] += 1
        count += 1
        minimum = min(minimum, value)
        maximum = max(maximum, value)
        sum += Double(value)
    }

    public mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return record(nanoseconds: 0) }
        let whole = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let total = whole.partialValue.addingReportingOverflow(UInt64(clamping: attoseconds / 1_000_000_000))
        record(nanoseconds: whole.overflow || total.overflow ? .max : total.partialValue)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
        clamped += other.clamped
        sum += other.sum
    }

    public var mean: Double { count == 0 ? 0 : sum / Double(count) }

    /// The value at `quantile` (0…1): the midpoint of the bucket holding it, within the
    /// recorded minimum and maximum; 0 when nothing was recorded.
    public func value(atQuantile quantile: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((min(max(quantile, 0), 1) * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank { return min(max(Self.midpoint(of: index), minimum), maximum) }
        }
        return maximum
    }

    /// Milliseconds at `quantile`, for reports.
    public func milliseconds(atQuantile quantile: Double) -> Double { Double(value(atQuantile: quantile)) / 1e6 }

    /// The bucket of `value` (1…maxValue): values below 128 have a bucket each; above, the top
    /// 7 bits after the leading one pick the sub-bucket of its power of two.
    static func index(of value: UInt64) -> Int {
        let exponent = 63 - value.leadingZeroBitCount
        guard exponent >= subBucketBits else { return Int(value) }
        let shift = exponent - subBucketBits
        let sub = Int((value >> UInt64(shift)) & UInt64(subBuckets - 1))
        return (exponent - subBucketBits + 1) * subBuckets + sub
    }

    /// The middle of bucket `index`'s values.
    static func midpoint(of index: Int) -> UInt64 {
        guard index >= subBuckets else { return UInt64(index) }
        let band = index / subBuckets
        let sub = UInt64(index % subBuckets)
        let shift = UInt64(band - 1)
        let low = (UInt64(subBuckets) + sub) << shift
        let width: UInt64 = 1 << shift
        return low + width / 2
    }
}
