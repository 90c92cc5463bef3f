import Glibc
import Testing
import TroupeSystem

/// The loop waits on any descriptor, not only sockets: here a pipe's read end.
@Suite(.timeLimit(.minutes(5)))
struct EventLoopPipeTests {
    @Test func aPipeWaitTimesOutUntilBytesArriveThenResumes() async throws {
        let loop = try EventLoop(timerResolution: .milliseconds(5))
        let ends = try nonBlockingPipe()
        defer { close(ends[0]); close(ends[1]) }
        try loop.register(ends[0])
        await #expect(throws: SocketWaitError.timedOut) {
            try await loop.wait(ends[0], for: .read, deadline: .now + .milliseconds(20))
        }
        var byte: UInt8 = 7
        #expect(write(ends[1], &byte, 1) == 1)
        try await loop.wait(ends[0], for: .read, deadline: .now + .seconds(5))
        var received: UInt8 = 0
        #expect(read(ends[0], &received, 1) == 1)
        #expect(received == 7)
        loop.deregister(ends[0])
        await loop.stop()
    }

    @Test func deregisteringFailsTheWaiterWithClosed() async throws {
        let loop = try EventLoop()
        let ends = try nonBlockingPipe()
        defer { close(ends[0]); close(ends[1]) }
        try loop.register(ends[0])
        let waiter = Task { try await loop.wait(ends[0], for: .read) }
        try await Task.sleep(for: .milliseconds(20))
        loop.deregister(ends[0])
        await #expect(throws: SocketWaitError.closed) { try await waiter.value }
        await loop.stop()
    }
}

/// A pipe whose read end does not block.
private func nonBlockingPipe() throws -> [Int32] {
    var ends: [Int32] = [0, 0]
    try #require(pipe(&ends) == 0)
    try #require(fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK) == 0)
    return ends
}
