import Testing

@testable import TroupeTransport

/// Keep-alive and timeout rules, driven by a manual clock (plain durations).
@Suite(.timeLimit(.minutes(5)))
struct ConnectionStateMachineTests {
    private let timeouts = ConnectionStateMachine.Timeouts()

    @Test func anIdleConnectionClosesSilentlyAfterTheIdleTimeout() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .seconds(5))
        #expect(machine.readDeadline == .seconds(65))
        #expect(machine.timedOut() == .close)
        #expect(machine.phase == .closed)
    }

    @Test func aHeadMustCompleteWithinTenSecondsOfItsFirstByteHoweverSlow() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        machine.bytesReceived(now: .seconds(1))
        #expect(machine.readDeadline == .seconds(11))
        // Trickling bytes (slowloris) does not move the head deadline.
        machine.bytesReceived(now: .seconds(9))
        #expect(machine.readDeadline == .seconds(11))
        #expect(machine.timedOut() == .respond408AndClose)
    }

    @Test func aBodyTimesOutAfterThirtySecondsWithoutProgress() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        machine.bytesReceived(now: .seconds(1))
        machine.headReceived(now: .seconds(2))
        #expect(machine.readDeadline == .seconds(32))
        machine.bytesReceived(now: .seconds(20))
        #expect(machine.readDeadline == .seconds(50), "progress moves the body deadline")
        #expect(machine.timedOut() == .respond408AndClose)
    }

    /// API.md: a body must arrive whole within 120 s of its head, however steadily it trickles.
    @Test func aBodyMustArriveWholeWithin120SecondsOfItsHead_SlowBody() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        machine.bytesReceived(now: .seconds(1))
        machine.headReceived(now: .seconds(2))
        for second in stride(from: 20, through: 100, by: 20) {
            machine.bytesReceived(now: .seconds(Int64(second)))
            #expect(machine.readDeadline == .seconds(Int64(min(second + 30, 122))))
        }
        machine.bytesReceived(now: .seconds(110))
        #expect(machine.readDeadline == .seconds(122), "progress no longer moves it past head + 120 s")
        #expect(machine.timedOut() == .respond408AndClose)
    }

    @Test func keepAliveReturnsToIdleWithAFreshIdleDeadline() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        machine.bytesReceived(now: .seconds(1))
        machine.headReceived(now: .seconds(1))
        machine.requestReceived()
        #expect(machine.readDeadline == nil, "no read timeout while the responder works")
        #expect(machine.responseSent(keepAlive: true, now: .seconds(3)) == .readNextRequest)
        #expect(machine.phase == .idle)
        #expect(machine.readDeadline == .seconds(63))
    }

    @Test func closeAfterTheResponseWhenAskedTo() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        machine.bytesReceived(now: .zero)
        machine.headReceived(now: .zero)
        machine.requestReceived()
        #expect(machine.responseSent(keepAlive: false, now: .seconds(1)) == .close)
        #expect(machine.readDeadline == nil)
    }

    @Test func drainClosesAWaitingConnectionNowAndABusyOneAfterItsResponse() {
        var waiting = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        waiting.bytesReceived(now: .seconds(1))
        #expect(waiting.drainRequested() == .closeNow)
        #expect(waiting.readDeadline == nil)

        var busy = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        busy.bytesReceived(now: .zero)
        busy.headReceived(now: .zero)
        busy.requestReceived()
        #expect(busy.drainRequested() == .closeAfterResponse)
        #expect(busy.responseSent(keepAlive: true, now: .seconds(1)) == .close)
    }

    @Test func aStreamHasNoReadDeadlineAndADrainEndsItThenCloses() {
        var machine = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        machine.bytesReceived(now: .zero)
        machine.headReceived(now: .zero)
        machine.requestReceived()
        machine.streamStarted()
        #expect(machine.phase == .streaming)
        #expect(machine.readDeadline == nil, "a stream may run for hours without a byte from the client")
        #expect(machine.timedOut() == .close)

        var drained = ConnectionStateMachine(timeouts: timeouts, now: .zero)
        drained.bytesReceived(now: .zero)
        drained.headReceived(now: .zero)
        drained.requestReceived()
        drained.streamStarted()
        #expect(drained.drainRequested() == .endStream)
        #expect(drained.responseSent(keepAlive: true, now: .seconds(1)) == .close)
    }

    @Test func shortConfiguredTimeoutsAreHonoured() {
        var short = ConnectionStateMachine.Timeouts()
        short.head = .milliseconds(200)
        short.idle = .milliseconds(300)
        var machine = ConnectionStateMachine(timeouts: short, now: .zero)
        #expect(machine.readDeadline == .milliseconds(300))
        machine.bytesReceived(now: .milliseconds(100))
        #expect(machine.readDeadline == .milliseconds(300))
    }
}
