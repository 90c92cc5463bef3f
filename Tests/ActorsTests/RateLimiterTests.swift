import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct GCRALimiterTests {
    private let start = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)

    @Test func aFullBucketAdmitsTheWholeMinutesBudgetAtOnce() {
        var limiter = GCRALimiter(limit: 60, period: .seconds(60))
        let decisions = (0..<61).map { _ in limiter.admit(at: start) }
        #expect(decisions.prefix(60).allSatisfy { $0.allowed })
        #expect(decisions.prefix(60).map(\.remaining) == Array((0..<60).reversed()))
        #expect(!decisions[60].allowed)
        #expect(decisions[60].retryAfterMicroseconds == 1_000_000, "one request refills per second")
        #expect(decisions[60].retryAfterSeconds == 1)
    }

    @Test func itRefillsSmoothlyOneRequestPerEmissionInterval() {
        var limiter = GCRALimiter(limit: 60, period: .seconds(60))
        for _ in 0..<60 { _ = limiter.admit(at: start) }
        #expect(!limiter.admit(at: start + .milliseconds(999)).allowed)
        #expect(limiter.admit(at: start + .seconds(1)).allowed)
        #expect(!limiter.admit(at: start + .seconds(1)).allowed)
        // After ten quiet seconds, ten more.
        let later = start + .seconds(11)
        #expect((0..<11).map { _ in limiter.admit(at: later).allowed }.filter { $0 }.count == 10)
    }

    @Test func deniedRequestsAreNotCounted() {
        var limiter = GCRALimiter(limit: 2, period: .seconds(60))
        _ = limiter.admit(at: start)
        _ = limiter.admit(at: start)
        for _ in 0..<100 { _ = limiter.admit(at: start) }
        #expect(limiter.admit(at: start + .seconds(30)).allowed, "30 s refills one of two")
    }

    @Test func resetIsWhenTheBucketIsFullAgain() {
        var limiter = GCRALimiter(limit: 60, period: .seconds(60))
        let first = limiter.admit(at: start)
        #expect(first.resetMicroseconds == start.microsecondsSinceEpoch + 1_000_000)
        #expect(first.resetUnixSeconds == start.millisecondsSinceEpoch / 1000 + 1)
    }

    @Test func peekDoesNotCount() {
        var limiter = GCRALimiter(limit: 1, period: .seconds(60))
        #expect(limiter.peek(at: start).allowed)
        #expect(limiter.admit(at: start).allowed)
        #expect(!limiter.peek(at: start).allowed)
    }

    @Test func theTighterDecisionIsReported() {
        let roomy = RateDecision(allowed: true, limit: 600, remaining: 500, resetMicroseconds: 0, retryAfterMicroseconds: 0)
        let tight = RateDecision(allowed: true, limit: 60, remaining: 3, resetMicroseconds: 0, retryAfterMicroseconds: 0)
        let denied = RateDecision(allowed: false, limit: 5000, remaining: 0, resetMicroseconds: 0, retryAfterMicroseconds: 9)
        #expect(roomy.tighter(tight) == tight)
        #expect(tight.tighter(roomy) == tight)
        #expect(tight.tighter(denied) == denied)
        #expect(denied.tighter(roomy) == denied)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct DailyQuotaTests {
    @Test func theQuotaResetsAtUTCMidnight() {
        let beforeMidnight = Timestamp(millisecondsSinceEpoch: 1_779_235_199_000)  // 2026-05-19T23:59:59Z
        #expect(beforeMidnight.rfc3339 == "2026-05-19T23:59:59.000Z")
        var quota = DailyQuota(limit: 3)
        #expect((0..<4).map { _ in quota.admit(at: beforeMidnight).allowed } == [true, true, true, false])
        let denied = quota.admit(at: beforeMidnight)
        #expect(denied.retryAfterSeconds == 1)
        #expect(Timestamp(microsecondsSinceEpoch: denied.resetMicroseconds).rfc3339 == "2026-05-20T00:00:00.000Z")
        let afterMidnight = beforeMidnight + .seconds(1)
        #expect(quota.admit(at: afterMidnight).allowed)
        #expect(quota.used == 1)
    }

    @Test func utcDaysCountFromTheEpochIncludingBeforeIt() {
        #expect(DailyQuota.utcDay(of: Timestamp(millisecondsSinceEpoch: 0)) == 0)
        #expect(DailyQuota.utcDay(of: Timestamp(millisecondsSinceEpoch: 86_399_999)) == 0)
        #expect(DailyQuota.utcDay(of: Timestamp(millisecondsSinceEpoch: -1)) == -1)
    }

    /// The arrival time comes back from a stored snapshot: a damaged one never traps.
    @Test func aStoredArrivalTimeAtTheEndOfTheRangeDecidesWithoutTrapping() {
        var limiter = GCRALimiter(limit: 60, period: .seconds(60), theoreticalArrival: .max - 5)
        let decision = limiter.admit(at: Timestamp(microsecondsSinceEpoch: 1_000_000))
        #expect(!decision.allowed)
        #expect(decision.retryAfterSeconds > 0)
        #expect(decision.resetUnixSeconds > 0)
    }
}
