import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct EventBusTests {
    private func event(_ seq: Int64, workspace: String = "ws_a", run: String? = nil) -> Event {
        Event(id: "evt_\(seq)", seq: seq, type: .runStarted, workspaceID: workspace, runID: run, data: [:],
              createdAt: Timestamp(microsecondsSinceEpoch: 0))
    }

    /// A subscriber that stops reading holds at most its buffer; past it the buffer is dropped
    /// and it is told to read the log — the server's memory does not grow with its backlog.
    @Test func aStalledSubscriberIsCutBackToTheLogInsteadOfBufferingWithoutBound() async {
        var configuration = EventBus.Configuration()
        configuration.bufferCapacity = 8
        let bus = EventBus(configuration: configuration)
        let stalled = try? bus.subscribe(workspaceID: "ws_a")
        let reading = try? bus.subscribe(workspaceID: "ws_a")
        for seq in Int64(1)...5 { bus.publish([event(seq)]) }
        #expect(await reading?.next() == .events((Int64(1)...5).map { event($0) }))
        for seq in Int64(6)...100 { bus.publish([event(seq)]) }
        #expect(stalled?.bufferedCount == 0, "dropped once past its 8 events")
        #expect(await stalled?.next() == .fellBehind)
        bus.publish([event(101)])
        #expect(await stalled?.next() == .events([event(101)]), "after the cut it follows again")
        stalled?.cancel()
        reading?.cancel()
    }

    @Test func eventsGoOnlyToTheirWorkspaceAndARunsSubscriberGetsOnlyThatRun() async {
        let bus = EventBus()
        let a = try? bus.subscribe(workspaceID: "ws_a")
        let run = try? bus.subscribe(workspaceID: "ws_a", runID: "run_1")
        let b = try? bus.subscribe(workspaceID: "ws_b")
        bus.publish([event(1, run: "run_2"), event(2, run: "run_1"), event(1, workspace: "ws_b")])
        #expect(await a?.next() == .events([event(1, run: "run_2"), event(2, run: "run_1")]))
        #expect(await run?.next() == .events([event(2, run: "run_1")]))
        #expect(await b?.next() == .events([event(1, workspace: "ws_b")]))
        for subscription in [a, run, b] { subscription?.cancel() }
        #expect(bus.subscriberCount == 0)
    }

    @Test func aWaitingReaderIsWokenByAnEventAHeartbeatACancelOrItsTasksCancellation() async throws {
        let bus = EventBus()
        let subscription = try bus.subscribe(workspaceID: "ws_a")
        async let woken = subscription.next()
        try await Task.sleep(for: .milliseconds(20))
        bus.publish([event(1)])
        #expect(await woken == .events([event(1)]))
        async let beat = subscription.next()
        try await Task.sleep(for: .milliseconds(20))
        bus.heartbeat()
        #expect(await beat == .heartbeat)
        let waiting = Task { await subscription.next() }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == .closed)
        #expect(await subscription.next() == .closed, "cancelled once, closed for good")
        #expect(bus.subscriberCount == 0)
    }

    @Test func anEventsBytesAreItsJSON() throws {
        for run in [nil, "run_\"quoted\\"] {
            let event = Event(id: "evt_1", seq: 42, type: .stepFailed, workspaceID: "ws_a", runID: run,
                              data: ["error": ["message": "line\nbreak \u{1F600}"]], createdAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456))
            #expect(try JSON.parse(event.encoded) == event.json)
            #expect(!event.encoded.contains(0x0A), "one data: line")
        }
    }

    @Test func subscribersPerWorkspaceAreBounded() {
        var configuration = EventBus.Configuration()
        configuration.maxSubscribersPerWorkspace = 3
        let bus = EventBus(configuration: configuration)
        let three = (0..<3).compactMap { _ in try? bus.subscribe(workspaceID: "ws_a") }
        #expect(three.count == 3)
        #expect(throws: EventBus.TooManySubscribers.self) { try bus.subscribe(workspaceID: "ws_a") }
        #expect((try? bus.subscribe(workspaceID: "ws_b")) != nil, "another workspace has its own bound")
        three[0].cancel()
        #expect((try? bus.subscribe(workspaceID: "ws_a")) != nil)
    }

    /// The server's own bound of streams, below its connection cap, whatever the workspaces.
    @Test func subscribersOfTheWholeServerAreBounded() {
        var configuration = EventBus.Configuration()
        configuration.maxSubscribers = 4
        let bus = EventBus(configuration: configuration)
        let four = (0..<4).compactMap { index in try? bus.subscribe(workspaceID: "ws_\(index)") }
        #expect(four.count == 4)
        #expect(throws: EventBus.TooManySubscribers(limit: 4, serverWide: true)) { try bus.subscribe(workspaceID: "ws_new") }
    }

    /// A subscriber that does not read holds at most `bufferBytes` of events, however large
    /// they are: past it, its buffer goes and it reads the log instead.
    @Test func aSubscriberThatDoesNotReadHoldsABoundedNumberOfBytes() async throws {
        var configuration = EventBus.Configuration()
        configuration.bufferBytes = 100 << 10
        let bus = EventBus(configuration: configuration)
        let subscription = try bus.subscribe(workspaceID: "ws_a")
        let big = JSON.string(String(repeating: "y", count: 40 << 10))
        func event(_ seq: Int64) -> Event {
            Event(id: "evt_\(seq)", seq: seq, type: .stepSucceeded, workspaceID: "ws_a", runID: nil, data: ["output": big],
                  createdAt: Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000))
        }
        bus.publish([event(1)])
        bus.publish([event(2)])
        #expect(subscription.bufferedCount == 2)
        bus.publish([event(3)])
        #expect(subscription.bufferedCount == 0, "past 100 KiB the buffer is dropped")
        #expect(await subscription.next() == .fellBehind)
        subscription.cancel()
    }

    @Test func oneClaimerIsWokenPerQueuedJobTheLongestWaitingFirst() async throws {
        let claimers = JobClaimers(maxWaitersPerWorkspace: 3)
        let order = LockedBox<[Int]>([])
        var tasks: [Task<Void, Never>] = []
        for index in 0..<3 {
            // One at a time, so that the waiters' order is known.
            tasks.append(Task {
                await claimers.wait(workspaceID: "ws_a", queues: ["q"], timeout: .seconds(30))
                order.withLock { $0.append(index) }
            })
            while claimers.count(workspaceID: "ws_a") < index + 1 { try await Task.sleep(for: .milliseconds(5)) }
        }
        let started = ContinuousClock.now
        await claimers.wait(workspaceID: "ws_a", queues: ["q"], timeout: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(5), "past the bound a claim does not wait")
        claimers.jobsQueued([("ws_a", "other")])
        claimers.jobsQueued([("ws_a", "q")])
        await tasks[0].value
        #expect(order.value == [0], "one job wakes one waiter, the longest waiting")
        #expect(claimers.count(workspaceID: "ws_a") == 2)
        claimers.jobsQueued([("ws_a", "q")])
        await tasks[1].value
        #expect(order.value == [0, 1])
        claimers.jobsQueued([("ws_a", "q")])
        await tasks[2].value
        #expect(order.value == [0, 1, 2])
        #expect(claimers.count(workspaceID: "ws_a") == 0)
    }
}
