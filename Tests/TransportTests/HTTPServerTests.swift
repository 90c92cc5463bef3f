import Foundation
import Glibc
import Testing
import TroupeCore

@testable import TroupeTransport

/// The server over real sockets on port 0.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HTTPServerTests {
    @Test func keepAliveConnectionsServeManyRequests() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        for index in 0..<5 {
            connection.send("GET /echo/n\(index) HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try #require(await connection.readResponse())
            #expect(response.status == 200)
            #expect(response.text.contains("\"n\(index)\""))
            #expect(response.header("Connection") == nil)
            #expect(response.header("Date")?.hasSuffix(" GMT") == true)
        }
        await server.stop()
    }

    @Test func tenPipelinedRequestsInOneWriteAreAnsweredInOrder() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        connection.send((0..<10).map { "GET /echo/p\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
        for index in 0..<10 {
            let response = try #require(await connection.readResponse(), "response \(index)")
            #expect(response.text.contains("\"p\(index)\""))
        }
        await server.stop()
    }

    @Test func chunkedUploadIsReassembled() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n")
        let response = try #require(await connection.readResponse())
        #expect(response.status == 200)
        #expect(response.text == "Wikipedia")
        await server.stop()
    }

    @Test func expect100ContinueGetsAnInterimResponse() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(await connection.readResponse()?.status == 100)
        connection.send("hello")
        #expect(await connection.readResponse()?.text == "hello")
        await server.stop()
    }

    @Test func oversizedRequestsGet413_414_431AsJSONAndTheConnectionCloses() async throws {
        let server = try TestServer.start {
            $0.limits.maxBodyBytes = 100
            $0.limits.maxHeadBytes = 1024
            $0.limits.maxTargetBytes = 256
        }
        let cases: [(String, Int, String)] = [
            ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413, "payload_too_large"),
            ("GET /\(String(repeating: "a", count: 300)) HTTP/1.1\r\nHost: t\r\n\r\n", 414, "uri_too_long"),
            ("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "b", count: 2000))\r\n\r\n", 431, "headers_too_large"),
            ("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "invalid_request"),
        ]
        for (request, status, code) in cases {
            let connection = try RawConnection(port: server.port)
            connection.send(request)
            let response = try #require(await connection.readResponse(), "\(status)")
            #expect(response.status == status)
            #expect(response.header("Connection") == "close")
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.text.contains("\"code\":\"\(code)\""))
            #expect(response.text.contains("\"request_id\":\"req_"))
            #expect(await connection.isClosedByPeer())
        }
        await server.stop()
    }

    @Test func unknownPathsAre404AndWrongMethods405WithAllow() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        connection.send("GET /nope HTTP/1.1\r\nHost: t\r\nX-Request-Id: trace-42\r\n\r\n")
        let notFound = try #require(await connection.readResponse())
        #expect(notFound.status == 404)
        #expect(notFound.header("X-Request-Id") == "trace-42")
        #expect(notFound.text.contains("\"request_id\":\"trace-42\""))
        connection.send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let wrongMethod = try #require(await connection.readResponse())
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "GET, HEAD")
        connection.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try #require(await connection.readResponse(bodiless: true))
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "17", "HEAD keeps the length of the GET body, without the body")
        connection.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await connection.readResponse()?.text == #"{"hello":"world"}"#, "no stray body bytes followed the HEAD response")
        await server.stop()
    }

    @Test func aSlowHeadGets408ThenClose() async throws {
        let server = try TestServer.start { $0.timeouts.head = .milliseconds(300) }
        let connection = try RawConnection(port: server.port)
        connection.send("GET /hello HTTP/1.1\r\nHo")
        let response = try #require(await connection.readResponse())
        #expect(response.status == 408)
        #expect(response.text.contains("request_timeout"))
        #expect(await connection.isClosedByPeer())
        await server.stop()
    }

    @Test func aStalledBodyGets408ThenClose() async throws {
        let server = try TestServer.start { $0.timeouts.body = .milliseconds(300) }
        let connection = try RawConnection(port: server.port)
        connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab")
        #expect(await connection.readResponse()?.status == 408)
        await server.stop()
    }

    @Test func anIdleKeepAliveConnectionIsClosedSilently() async throws {
        let server = try TestServer.start { $0.timeouts.idle = .milliseconds(300) }
        let connection = try RawConnection(port: server.port)
        connection.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await connection.readResponse()?.status == 200)
        let started = ContinuousClock.now
        #expect(await connection.isClosedByPeer())
        #expect(ContinuousClock.now - started < .seconds(3))
        await server.stop()
    }

    @Test func aClientThatLeavesMidResponseIsNoticedAndOthersAreServed() async throws {
        let server = try TestServer.start()
        TestServer.streamErrors.withLock { $0.removeAll() }
        do {
            let leaving = try RawConnection(port: server.port)
            leaving.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(await leaving.readByte(), "the stream started")
            var linger = linger(l_onoff: 1, l_linger: 0)  // close with a reset, as a crashed client would
            setsockopt(leaving.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while TestServer.streamErrors.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(TestServer.streamErrors.withLock { $0 } == ["CancellationError()"], "the handler's write was cancelled")
        let other = try RawConnection(port: server.port)
        other.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await other.readResponse()?.status == 200)
        await server.stop()
    }

    @Test func aRequestCarriesItsClientsAddress() async throws {
        let server = try TestServer.start()
        let connection = try RawConnection(port: server.port)
        connection.send("GET /peer HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await connection.readResponse()?.text == #"{"peer":"127.0.0.1"}"#)
        await server.stop()
    }

    /// An event stream never ends by itself: a drain stops it at once and ends its body with
    /// the last chunk, rather than leave it to the grace period's forced close.
    @Test func aDrainEndsAnOpenStreamAtOnceWithItsLastChunk() async throws {
        let server = try TestServer.start()
        let client = try RawConnection(port: server.port)
        client.send("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await client.readByte(), "the stream started")
        let started = ContinuousClock.now
        await server.server.shutdown(grace: .seconds(30))
        await server.serving.value
        #expect(ContinuousClock.now - started < .seconds(5), "the drain did not wait out its grace period")
        let rest = String(decoding: await client.readToEnd(), as: UTF8.self)
        #expect(rest.hasSuffix("0\r\n\r\n"), "the body ended with its last chunk: \(rest)")
    }

    @Test func aThousandConcurrentKeepAliveConnectionsAreServedAndEveryFdIsClosed() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 8192))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let server = try TestServer.start()
        #expect(serverSocketCount(port: server.port) == 1, "the listener")
        var connections: [RawConnection] = []
        for _ in 0..<1000 { connections.append(try RawConnection(port: server.port)) }
        for (index, connection) in connections.enumerated() {
            connection.send("GET /echo/c\(index) HTTP/1.1\r\nHost: t\r\n\r\n")
        }
        var served = 0
        for (index, connection) in connections.enumerated() where await connection.readResponse()?.text.contains("\"c\(index)\"") == true {
            served += 1
        }
        #expect(served == 1000)
        #expect(server.server.statistics.openConnections == 1000)
        #expect(serverSocketCount(port: server.port) == 1001, "the listener and 1,000 accepted sockets")
        connections.removeAll()
        let deadline = ContinuousClock.now + .seconds(5)
        while serverSocketCount(port: server.port) > 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(serverSocketCount(port: server.port) == 1, "every accepted connection's fd was closed")
        #expect(server.server.statistics.openConnections == 0)
        let port = server.port
        await server.stop()
        #expect(serverSocketCount(port: port) == 0, "the listener is closed too")
    }

    @Test func connectionsBeyondTheLimitAreAcceptedAndClosed() async throws {
        let server = try TestServer.start { $0.maxConnections = 2 }
        let first = try RawConnection(port: server.port)
        let second = try RawConnection(port: server.port)
        first.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        second.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await first.readResponse()?.status == 200)
        #expect(await second.readResponse()?.status == 200)
        let third = try RawConnection(port: server.port)
        #expect(await third.isClosedByPeer())
        #expect(server.server.statistics.refusedConnections == 1)
        await server.stop()
    }

    @Test func gracefulDrainFinishesInFlightRequestsAndStopsAccepting() async throws {
        let server = try TestServer.start()
        let busy = try RawConnection(port: server.port)
        let idle = try RawConnection(port: server.port)
        idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await idle.readResponse()?.status == 200)
        TestServer.heldReleased.store(false, ordering: .relaxed)
        busy.send("GET /held HTTP/1.1\r\nHost: t\r\n\r\n")
        try await Task.sleep(for: .milliseconds(50))
        let stopping = Task { await server.stop() }
        // The request is answered only once the drain has begun (the listener refuses), however
        // late a loaded machine runs the stopping task.
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, (try? RawConnection(port: server.port)) != nil {  // closed as it goes
            try await Task.sleep(for: .milliseconds(10))
        }
        TestServer.heldReleased.store(true, ordering: .relaxed)
        let response = try #require(await busy.readResponse(), "the in-flight request is answered")
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(await busy.isClosedByPeer())
        #expect(await idle.isClosedByPeer(), "idle connections are closed")
        await stopping.value
        #expect(throws: (any Error).self) { try RawConnection(port: server.port) }
    }

    @Test func randomBytesFromManyClientsNeverTakeTheServerDown() async throws {
        let server = try TestServer.start { $0.timeouts.head = .milliseconds(200) }
        var random = SeededGenerator(seed: 42)
        for _ in 0..<200 {
            let connection = try RawConnection(port: server.port, timeout: .seconds(2))
            connection.send((0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        let healthy = try RawConnection(port: server.port)
        healthy.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await healthy.readResponse()?.status == 200)
        await server.stop()
    }
}
