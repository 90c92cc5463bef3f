/// Arithmetic that clamps at the ends of the type instead of trapping: for sums of values a
/// client reported (tokens, cost) and for times read back from stored rows, where an overflow
/// must never take the process down. Inlinable: they sit on hot paths of other modules
/// (timestamps, run totals), where an unspecialized call cost more than the arithmetic.
extension Int64 {
    /// `self + other`, clamped to `Int64.min...Int64.max`.
    @inlinable
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, clamped to `Int64.min...Int64.max`.
    @inlinable
    public func saturatingSubtracting(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self * other`, clamped to `Int64.min...Int64.max`.
    @inlinable
    public func saturatingMultiplied(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    /// The whole part of `value`, clamped to `Int64.min...Int64.max`; NaN is 0.
    @inlinable
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_807.0 {
            // 2^63 is the first Double past Int64.max: anything from it up clamps.
            self = .max
        } else if value <= -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int64(value.rounded(.towardZero))
        }
    }
}

extension Double {
    /// `self + other`, kept finite: a sum past the largest finite value is that value.
    @inlinable
    public func finiteAdding(_ other: Double) -> Double {
        let sum = self + other
        if sum.isFinite { return sum }
        if sum.isNaN { return self.isFinite ? self : 0 }
        return sum > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude
    }
}
