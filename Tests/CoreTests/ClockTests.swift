import Foundation
import Synchronization
import Testing

@testable import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct ManualClockTests {
    @Test func sleeperWakesOnlyWhenTheClockReachesItsDeadline() async throws {
        let clock = ManualClock()
        let woke = LockedFlag()
        let sleeper = Task {
            try await clock.sleep(for: .seconds(10))
            woke.set()
        }
        while clock.sleeperCount == 0 { await Task.yield() }
        clock.advance(by: .seconds(9))
        #expect(!woke.value)
        clock.advance(by: .seconds(1))
        try await sleeper.value
        #expect(woke.value)
        #expect(clock.sleeperCount == 0)
    }

    @Test func deadlineInThePastReturnsAtOnce() async throws {
        let clock = ManualClock()
        try await clock.sleep(until: clock.now + .seconds(-1))
        try await clock.sleep(until: clock.now)
    }

    @Test func cancellingASleeperThrowsCancellationError() async {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(60)) }
        while clock.sleeperCount == 0 { await Task.yield() }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func clockNeverMovesBackwards() {
        let clock = ManualClock(now: Timestamp(millisecondsSinceEpoch: 5000))
        clock.advance(to: Timestamp(millisecondsSinceEpoch: 1000))
        #expect(clock.now.millisecondsSinceEpoch == 5000)
    }
}

@Suite(.timeLimit(.minutes(5)))
struct SystemClockTests {
    @Test func nowAgreesWithFoundation() {
        let ours = SystemClock().now.millisecondsSinceEpoch
        let foundation = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(ours - foundation) < 1000)
    }

    @Test func sleepWaitsAtLeastTheDuration() async throws {
        let clock = SystemClock()
        let start = clock.now
        try await clock.sleep(for: .milliseconds(20))
        #expect(clock.now - start >= .milliseconds(20))
    }
}

/// A Boolean set from one task and read from another.
final class LockedFlag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var value: Bool { state.withLock { $0 } }
}
