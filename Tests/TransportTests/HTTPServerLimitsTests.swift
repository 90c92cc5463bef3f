import Foundation
import Testing
import TroupeCore

import TroupeSystem
@testable import TroupeTransport

/// API.md's protocol limits that span requests or connections, over real sockets.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HTTPServerLimitsTests {
    /// RFC 9112 §9.3.2 and API.md: answers already produced for earlier pipelined requests are
    /// sent before the error that closes the connection.
    @Test func pipelinedAnswersGoOutBeforeTheErrorThatCloses() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        connection.send("GET /echo/a HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/b HTTP/1.1\r\nHost: t\r\n\r\nGET /x HTTP/1.1\r\nBad\u{0}Header\r\n\r\n")
        let first = try #require(await connection.readResponse())
        #expect(first.text.contains("\"a\""))
        let second = try #require(await connection.readResponse())
        #expect(second.text.contains("\"b\""))
        let refused = try #require(await connection.readResponse())
        #expect(refused.status == 400)
        #expect(refused.header("Connection")?.lowercased() == "close")
        #expect(await connection.isClosedByPeer())
        await server.stop()
    }

    /// A body that keeps trickling still has to be whole within its limit of the head.
    @Test func aTricklingBodyGets408AtTheWholeBodyDeadline_SlowBody() async throws {
        let server = try TestServer.start {
            $0.timeouts.body = .seconds(2)
            $0.timeouts.wholeBody = .milliseconds(1500)
        }
        let connection = try RawConnection(port: server.port)
        connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(500))
            connection.send("x")
        }
        // Cut at the whole-body deadline (1.5 s), the answer is waiting once the trickle (2 s)
        // is over; cut at the progress one it would come 2 s after the last byte. Timed from
        // here, so that the trickle's own sleeps running late under load do not count.
        let reading = ContinuousClock.now
        let response = try #require(await connection.readResponse())
        #expect(response.status == 408)
        #expect(ContinuousClock.now - reading < .milliseconds(1500), "cut at the whole-body deadline, not the progress one")
        await server.stop()
    }

    /// The bytes held for unfinished bodies are bounded across connections: a body that would
    /// pass the bound is 503 with Retry-After; a finished body gives its share back.
    @Test func unfinishedBodiesAreBoundedAcrossConnections() async throws {
        let server = try TestServer.start { $0.maxBufferedBodyBytes = 1000 }
        let first = try RawConnection(port: server.port)
        first.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n" + String(repeating: "a", count: 700))
        try await Task.sleep(for: .milliseconds(200))
        let second = try RawConnection(port: server.port)
        second.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n" + String(repeating: "b", count: 700))
        let refused = try #require(await second.readResponse())
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.text.contains("overloaded"))
        first.send(String(repeating: "a", count: 200))
        #expect(await first.readResponse()?.text.count == 900, "the first body completes")
        let third = try RawConnection(port: server.port)
        third.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n" + String(repeating: "c", count: 900))
        #expect(await third.readResponse()?.status == 200, "the finished body gave its bytes back")
        await server.stop()
    }

    /// The soft descriptor limit is raised to the hard one, and the cap follows it.
    @Test func theConnectionCapFollowsTheRaisedDescriptorLimit() {
        let soft = FileDescriptorLimit.raiseToHard()
        var limit = rlimit()
        #expect(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        #expect(limit.rlim_cur == limit.rlim_max)
        #expect(Int(exactly: limit.rlim_cur) ?? Int.max == soft)
        let cap = FileDescriptorLimit.connectionCap(reserving: 256)
        #expect(cap < soft && cap >= 16)
    }
}
