import Testing
import TroupeCore

@testable import TroupeApp

@Suite(.timeLimit(.minutes(5)))
struct LoginThrottleTests {
    private let t0 = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)

    /// The throttle is keyed by an email the client chooses: however many, it keeps at most
    /// `maxTracked`, dropping those whose failures left the window first, then the stalest.
    @Test func theEmailsTrackedAreBounded() {
        let throttle = LoginThrottle()
        for index in 0..<(LoginThrottle.maxTracked + 50) {
            throttle.recordFailure(email: "spray-\(index)@example.com", at: t0 + .milliseconds(Int64(index)))
        }
        #expect(throttle.trackedCount <= LoginThrottle.maxTracked)
        let later = t0 + LoginThrottle.window + .seconds(200)  // past every failure above
        throttle.recordFailure(email: "late@example.com", at: later)
        #expect(throttle.trackedCount < 10, "expired entries went first: \(throttle.trackedCount)")
    }

    @Test func tenFailuresThrottleUntilTheFirstLeavesTheWindowAndASuccessForgetsThem() {
        let throttle = LoginThrottle()
        for second in 0..<9 { throttle.recordFailure(email: "a@example.com", at: t0 + .seconds(Int64(second))) }
        #expect(throttle.retryAfter(email: "a@example.com", at: t0 + .seconds(9)) == nil, "nine are not ten")
        throttle.recordFailure(email: "a@example.com", at: t0 + .seconds(9))
        #expect(throttle.retryAfter(email: "a@example.com", at: t0 + .seconds(10)) == 890)
        #expect(throttle.retryAfter(email: "a@example.com", at: t0 + LoginThrottle.window) == nil, "the first failure left the window")
        throttle.recordSuccess(email: "a@example.com")
        #expect(throttle.trackedCount == 0)
    }
}
