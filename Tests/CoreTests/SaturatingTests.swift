import Testing
import TroupeCore

/// Sums of client-reported values and times read from stored rows clamp instead of trapping.
@Suite(.timeLimit(.minutes(5)))
struct SaturatingTests {
    @Test func additionSubtractionAndMultiplicationClampAtTheEnds() {
        #expect(Int64(9_000_000_000_000_000_000).saturatingAdding(9_000_000_000_000_000_000) == .max)
        #expect(Int64.min.saturatingAdding(-1) == .min)
        #expect(Int64(5).saturatingAdding(-7) == -2)
        #expect(Int64.min.saturatingSubtracting(1) == .min)
        #expect(Int64.max.saturatingSubtracting(-1) == .max)
        #expect(Int64(-3).saturatingSubtracting(4) == -7)
        #expect(Int64.max.saturatingMultiplied(by: 2) == .max)
        #expect(Int64.max.saturatingMultiplied(by: -2) == .min)
        #expect(Int64(-6).saturatingMultiplied(by: 7) == -42)
    }

    @Test func doublesConvertWithoutTrapping() {
        #expect(Int64(saturating: 1e19) == .max)
        #expect(Int64(saturating: 9_223_372_036_854_775_808.0) == .max)
        #expect(Int64(saturating: -1e308) == .min)
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int64(saturating: .infinity) == .max)
        #expect(Int64(saturating: -2.7) == -2)
        #expect(Double.greatestFiniteMagnitude.finiteAdding(.greatestFiniteMagnitude) == .greatestFiniteMagnitude)
        #expect(1.5.finiteAdding(2) == 3.5)
    }

    @Test func timestampArithmeticSaturates() {
        let far = Timestamp(microsecondsSinceEpoch: .max - 10)
        #expect((far + .seconds(3600)).microsecondsSinceEpoch == .max)
        #expect((Timestamp(microsecondsSinceEpoch: .min) - far) == .microseconds(Int64.min))
        #expect(Timestamp(millisecondsSinceEpoch: .max).microsecondsSinceEpoch == .max)
    }
}
