import Testing

@testable import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct RandomIDTests {
    @Test func hasPrefixAndTwentyBase36Characters() {
        let id = RandomID.make(prefix: "run")
        #expect(id.hasPrefix("run_"))
        #expect(id.count == 24)
        #expect(id.dropFirst(4).allSatisfy { ("0"..."9").contains($0) || ("a"..."z").contains($0) })
        #expect(RandomID.isWellFormed(id, prefix: "run"))
    }

    @Test func wellFormednessChecksShape() {
        #expect(!RandomID.isWellFormed("run_short", prefix: "run"))
        #expect(!RandomID.isWellFormed("job_0123456789abcdefghij", prefix: "run"))
        #expect(!RandomID.isWellFormed("run_0123456789ABCDEFGHIJ", prefix: "run"))
        #expect(!RandomID.isWellFormed("run_0123456789abcdefghi!", prefix: "run"))
        #expect(RandomID.isWellFormed("run_0123456789abcdefghij", prefix: "run"))
    }

    @Test func hundredThousandIDsAreDistinct() {
        let ids = Set((0..<100_000).map { _ in RandomID.make(prefix: "evt") })
        #expect(ids.count == 100_000)
    }

    @Test func everyCharacterIsRoughlyEquallyLikelyInEveryPosition() {
        // 36 symbols × 20 positions; 36,000 IDs give 1,000 expected per cell. A biased draw (say
        // `% 36` of a byte) would skew the first symbols by ~14 %; allow ±20 % for chance.
        var counts = Array(repeating: Array(repeating: 0, count: 36), count: 20)
        for _ in 0..<36_000 {
            for (position, byte) in RandomID.make(prefix: "x").utf8.dropFirst(2).enumerated() {
                let symbol = byte <= UInt8(ascii: "9") ? Int(byte) - 48 : Int(byte) - 87
                counts[position][symbol] += 1
            }
        }
        let flat = counts.flatMap { $0 }
        #expect(flat.min() ?? 0 > 800)
        #expect(flat.max() ?? 0 < 1200)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct SeededGeneratorTests {
    @Test func sameSeedSameSequenceAndKnownFirstValue() {
        var a = SeededGenerator(seed: 0)
        var b = SeededGenerator(seed: 0)
        // SplitMix64's published first output for seed 0.
        #expect(a.next() == 0xE220_A839_7B1D_CDAF)
        #expect(b.next() == 0xE220_A839_7B1D_CDAF)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        var seedOne = SeededGenerator(seed: 1)
        var seedZero = SeededGenerator(seed: 0)
        #expect(seedOne.next() != seedZero.next())
    }
}
