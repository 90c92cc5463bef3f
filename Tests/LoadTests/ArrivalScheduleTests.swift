import Testing

@testable import TroupeLoad

/// Arrival times: as many as the phases' rates integrate to, in order, where they are due.
@Suite(.timeLimit(.minutes(5)))
struct ArrivalScheduleTests {
    private func times(_ phases: [LoadPhase], _ process: ArrivalSchedule.Process = .constant, seed: UInt64 = 7) -> [Double] {
        var schedule = ArrivalSchedule(phases: phases, process: process, seed: seed)
        var times: [Double] = []
        while let next = schedule.next() { times.append(next) }
        return times
    }

    @Test func aSteadyPhaseIsEvenlySpacedAtItsRate() {
        let arrivals = times([.steady(100, seconds: 2)])
        #expect(arrivals.count == 200)
        #expect(abs(arrivals[0] - 0.01) < 1e-9)
        #expect(zip(arrivals, arrivals.dropFirst()).allSatisfy { abs($1 - $0 - 0.01) < 1e-9 })
        #expect(arrivals.last.map { $0 <= 2 } == true)
    }

    @Test func aRampSpeedsUpLinearlyAndPhasesFollowEachOther() {
        let ramp = LoadPhase(kind: .ramp, from: 0, to: 200, seconds: 4)
        let arrivals = times([ramp, .steady(50, seconds: 2), LoadPhase(kind: .spike, from: 500, to: 500, seconds: 1)])
        let inRamp = arrivals.filter { $0 <= 4 }
        #expect(inRamp.count == 400, "(0 + 200) / 2 × 4 s")
        // By t, a ramp from 0 at slope 50/s² has had 25 t² arrivals.
        #expect(inRamp.filter { $0 <= 2 }.count == 100)
        #expect(arrivals.filter { $0 > 4 && $0 <= 6 }.count == 100)
        #expect(arrivals.filter { $0 > 6 }.count == 500)
        #expect(arrivals == arrivals.sorted())
        #expect(times([.steady(0, seconds: 5)]).isEmpty, "a rate of zero sends nothing")
    }

    @Test func poissonArrivalsHaveTheirRateAndExponentialGaps() {
        let arrivals = times([.steady(1_000, seconds: 20)], .poisson)
        #expect(abs(Double(arrivals.count) - 20_000) < 20_000 * 0.03)
        let gaps = zip(arrivals, arrivals.dropFirst()).map { $1 - $0 }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        #expect(abs(mean - 0.001) < 0.001 * 0.03)
        // An exponential's share of gaps above its mean is 1/e.
        let above = Double(gaps.filter { $0 > mean }.count) / Double(gaps.count)
        #expect(abs(above - 0.3679) < 0.02)
        #expect(times([.steady(1_000, seconds: 1)], .poisson, seed: 1) == times([.steady(1_000, seconds: 1)], .poisson, seed: 1), "seeded")
        let ramped = times([LoadPhase(kind: .ramp, from: 0, to: 1_000, seconds: 10)], .poisson)
        #expect(abs(Double(ramped.count) - 5_000) < 5_000 * 0.05)
        #expect(ramped.filter { $0 > 5 }.count > ramped.filter { $0 <= 5 }.count * 2, "thinning follows the ramp")
    }
}
