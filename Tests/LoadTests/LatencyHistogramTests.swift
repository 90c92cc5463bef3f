import Glibc
import Testing

@testable import TroupeLoad

/// The histogram's percentiles against the exact ones of known distributions: within 1 %.
@Suite(.timeLimit(.minutes(5)))
struct LatencyHistogramTests {
    private func exact(_ sorted: [UInt64], _ quantile: Double) -> UInt64 {
        sorted[max(0, Int((quantile * Double(sorted.count)).rounded(.up)) - 1)]
    }

    private func check(_ values: [UInt64], _ name: String) {
        var histogram = LatencyHistogram()
        for value in values { histogram.record(nanoseconds: value) }
        let sorted = values.sorted()
        #expect(histogram.count == UInt64(values.count))
        #expect(histogram.minimum == sorted.first && histogram.maximum == sorted.last, "\(name)")
        for quantile in [0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let want = Double(exact(sorted, quantile))
            let got = Double(histogram.value(atQuantile: quantile))
            #expect(abs(got - want) <= want * 0.01, "\(name) q\(quantile): \(got) for \(want)")
        }
    }

    @Test func uniformExponentialAndBimodalValuesReadBackWithinOnePercent() {
        var generator = SplitMix64(seed: 42)
        check((0..<100_000).map { _ in 1_000 + generator.next() % 50_000_000 }, "uniform 1 µs–50 ms")
        check((0..<100_000).map { _ in UInt64(-log(1 - generator.nextUnit()) * 2_000_000) + 1 }, "exponential, mean 2 ms")
        check((0..<100_000).map { index in index % 100 == 0 ? 200_000_000 + generator.next() % 1_000_000 : 300_000 + generator.next() % 10_000 },
              "1 % slow at 200 ms beside 300 µs")
        check(Array(repeating: 1_234_567, count: 1_000), "constant")
        check((1...127).map(UInt64.init), "small values, exact")
    }

    @Test func everyBucketHoldsValuesWithin1Over128OfEachOther() {
        for value: UInt64 in [1, 127, 128, 255, 256, 1_000, 65_535, 1 << 20, 123_456_789, 1 << 39, LatencyHistogram.maxValue] {
            let index = LatencyHistogram.index(of: value)
            let midpoint = Double(LatencyHistogram.midpoint(of: index))
            #expect(abs(midpoint - Double(value)) <= Double(value) / 256 + 0.5, "\(value) → bucket \(index), midpoint \(midpoint)")
        }
    }

    @Test func mergingAddsAndHugeOrZeroValuesAreClamped() {
        var first = LatencyHistogram()
        var second = LatencyHistogram()
        first.record(nanoseconds: 0)
        second.record(.seconds(5_000))
        second.record(.milliseconds(3))
        first.merge(second)
        #expect(first.count == 3)
        #expect(first.minimum == 1)
        #expect(first.maximum == LatencyHistogram.maxValue)
        #expect(first.clamped == 1)
        #expect(abs(first.milliseconds(atQuantile: 0.5) - 3) < 0.03)
        #expect(LatencyHistogram().value(atQuantile: 0.99) == 0)
    }
}
