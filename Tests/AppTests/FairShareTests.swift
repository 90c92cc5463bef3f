import Testing
import TroupeCore
import TroupeSystem

@testable import TroupeApp

/// A workspace's requests within its share, or with no other workspace about, run as they
/// came; past the share while another workspace sends within its own, at the deferred
/// priority; at the bound, refused with 503 while other workspaces go on.
@Suite(.timeLimit(.minutes(5)))
struct FairShareTests {
    @Test func requestsPastTheShareBesideAnotherWorkspaceRunDeferredAndPastTheBoundAreRefused() async throws {
        let clock = ManualInstant()
        let shares = FairShare(share: 2, bound: 3, now: clock.read)
        // Alone on the server, a workspace past its share is not deferred: nobody waits behind it.
        for expected in [false, false, false] { #expect(try shares.admit("ws_alone") == expected) }
        for _ in 0..<3 { shares.release("ws_alone") }
        let release = Latch()
        let entered = Counter()
        let priorities = try await withThrowingTaskGroup(of: Bool.self) { group in
            // One at a time, so that the third is the one past the share; another workspace
            // sends a request just before it.
            for started in 1...3 {
                if started == 3 {
                    #expect(try !shares.admit("ws_quiet"))
                    shares.release("ws_quiet")
                }
                group.addTask {
                    try await request(shares, "ws_loud") {
                        entered.add()
                        await release.wait()
                        return Task.currentPriority.isDeferred
                    }
                }
                while entered.value < started { await Task.yield() }
            }
            // The fourth of the workspace meets the bound; another workspace is let through.
            await #expect {
                try await request(shares, "ws_loud") { 0 }
            } throws: { error in
                (error as? APIError)?.code == .overloaded && (error as? APIError)?.retryAfterSeconds == 1
            }
            let other = try await request(shares, "ws_quiet") { Task.currentPriority.isDeferred }
            #expect(!other)
            release.open()
            var deferred: [Bool] = []
            for try await value in group { deferred.append(value) }
            return deferred
        }
        #expect(priorities.filter { $0 } == [true])
        #expect(shares.counts.deferred == 1)
        #expect(shares.counts.refused == 1)
        // Once they are done the workspace is within its share again.
        let after = try await request(shares, "ws_loud") { Task.currentPriority.isDeferred }
        #expect(!after)
    }

    @Test func anotherWorkspacesRequestDefersOnlyForTheWindow() throws {
        let clock = ManualInstant()
        let shares = FairShare(share: 1, bound: 10, window: .seconds(1), now: clock.read)
        #expect(try !shares.admit("ws_loud"))
        #expect(try !shares.admit("ws_quiet"))
        shares.release("ws_quiet")
        clock.advance(by: .milliseconds(999))
        #expect(try shares.admit("ws_loud"))
        clock.advance(by: .milliseconds(1))
        #expect(try !shares.admit("ws_loud"))
        for _ in 0..<3 { shares.release("ws_loud") }
    }

    @Test func cancellingADeferredRequestCancelsItsWork() async throws {
        let clock = ManualInstant()
        let shares = FairShare(share: 1, bound: 10, now: clock.read)
        let hold = Latch()
        let entered = Counter()
        let holder = Task {
            try await request(shares, "ws_1") {
                entered.add()
                await hold.wait()
            }
        }
        while entered.value == 0 { await Task.yield() }
        #expect(try !shares.admit("ws_other"))
        shares.release("ws_other")
        let sleeping = Counter()
        let deferred = Task {
            try await request(shares, "ws_1") {
                sleeping.add()
                try await Task.sleep(for: .seconds(30))
                return "slept"
            }
        }
        while sleeping.value == 0 { await Task.yield() }
        deferred.cancel()
        await #expect(throws: CancellationError.self) { _ = try await deferred.value }
        #expect(shares.counts.deferred == 1)
        hold.open()
        try await holder.value
    }
}

/// One request of `workspaceID` through `shares`, as the route gate runs it.
private func request<T: Sendable>(_ shares: FairShare, _ workspaceID: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let deferred = try shares.admit(workspaceID)
    defer { shares.release(workspaceID) }
    return deferred ? try await FairShare.deferred(body) : try await body()
}

/// A clock the test moves by hand.
private final class ManualInstant: Sendable {
    private let instant = LockedBox(ContinuousClock.now)

    func advance(by duration: Duration) { instant.withLock { $0 += duration } }

    var read: @Sendable () -> ContinuousClock.Instant { { [instant] in instant.value } }
}

/// A count the test's tasks share.
private final class Counter: Sendable {
    private let count = LockedBox(0)

    func add() { count.withLock { $0 += 1 } }

    var value: Int { count.value }
}
