import Testing
import TroupeCore
import TroupeSystem

@testable import TroupeApp

/// A workspace's requests within its share run as they came; past it, at the deferred
/// priority; at the bound, refused with 503 while other workspaces go on.
struct FairShareTests {
    @Test func requestsPastTheShareRunDeferredAndPastTheBoundAreRefused() async throws {
        let shares = FairShare(share: 2, bound: 3)
        let release = Latch()
        let entered = Counter()
        let priorities = try await withThrowingTaskGroup(of: Bool.self) { group in
            // One at a time, so that the third is the one past the share.
            for started in 1...3 {
                group.addTask {
                    try await shares.run(workspaceID: "ws_loud") {
                        entered.add()
                        await release.wait()
                        return Task.currentPriority.isDeferred
                    }
                }
                while entered.value < started { await Task.yield() }
            }
            // The fourth of the workspace meets the bound; another workspace is let through.
            await #expect {
                try await shares.run(workspaceID: "ws_loud") { 0 }
            } throws: { error in
                (error as? APIError)?.code == .overloaded && (error as? APIError)?.retryAfterSeconds == 1
            }
            let other = try await shares.run(workspaceID: "ws_quiet") { Task.currentPriority.isDeferred }
            #expect(!other)
            release.open()
            var deferred: [Bool] = []
            for try await value in group { deferred.append(value) }
            return deferred
        }
        #expect(priorities.filter { $0 }.count == 1)
        #expect(shares.counts.deferred == 1)
        #expect(shares.counts.refused == 1)
        // Once they are done the workspace is within its share again.
        let after = try await shares.run(workspaceID: "ws_loud") { Task.currentPriority.isDeferred }
        #expect(!after)
    }

    @Test func cancellingADeferredRequestCancelsItsWork() async throws {
        let shares = FairShare(share: 1, bound: 10)
        let hold = Latch()
        let entered = Counter()
        let holder = Task {
            try await shares.run(workspaceID: "ws_1") {
                entered.add()
                await hold.wait()
            }
        }
        while entered.value == 0 { await Task.yield() }
        let deferred = Task {
            try await shares.run(workspaceID: "ws_1") {
                try await Task.sleep(for: .seconds(30))
                return "slept"
            }
        }
        while shares.counts.deferred == 0 { await Task.yield() }
        deferred.cancel()
        await #expect(throws: CancellationError.self) { try await deferred.value }
        hold.open()
        try await holder.value
    }
}

/// A count the test's tasks share.
private final class Counter: Sendable {
    private let count = LockedBox(0)

    func add() { count.withLock { $0 += 1 } }

    var value: Int { count.value }
}
