import Foundation
import Glibc
import Testing
import TroupeSystem
import TroupeTestSupport

@testable import TroupeTransport

/// Our client against our server, and our server against curl.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HTTPClientTests {
    @Test func keepAliveReusesOneConnection() async throws {
        let server = try TestServer.start()
        let client = HTTPClient()
        for index in 0..<5 {
            let response = try await client.send(HTTPClientRequest(port: server.port, target: "/echo/k\(index)"))
            #expect(response.status == 200)
            #expect(response.text.contains("\"k\(index)\""))
        }
        #expect(server.server.statistics.acceptedConnections == 1)
        client.closeIdleConnections()
        await server.stop()
    }

    @Test func postsABodyAndReadsChunkedResponses() async throws {
        let server = try TestServer.start()
        let client = HTTPClient()
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
        let echoed = try await client.send(HTTPClientRequest(method: "POST", port: server.port, target: "/echo", body: payload))
        #expect(echoed.body == payload)
        let streamed = try await client.send(HTTPClientRequest(port: server.port, target: "/small-stream"))
        #expect(streamed.headers["Transfer-Encoding"] == "chunked")
        #expect(streamed.text == "one two three")
        let head = try await client.send(HTTPClientRequest(method: "HEAD", port: server.port, target: "/hello"))
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(try await client.send(HTTPClientRequest(port: server.port, target: "/hello")).text == #"{"hello":"world"}"#)
        client.closeIdleConnections()
        await server.stop()
    }

    /// A stream's pieces come as the server writes them, de-chunked; a stream that never ends
    /// answers its head at once and its first piece, and hangs up when closed.
    @Test func aStreamedResponseIsReadPieceByPiece() async throws {
        let server = try TestServer.start()
        let small = try await HTTPClientStream.open(HTTPClientRequest(port: server.port, target: "/small-stream"))
        #expect(small.status == 200)
        var text = ""
        while let piece = try await small.next() { text += String(decoding: piece, as: UTF8.self) }
        #expect(text == "one two three")

        let big = try await HTTPClientStream.open(HTTPClientRequest(port: server.port, target: "/stream"))
        var total = 0
        while let piece = try await big.next() { total += piece.count }
        #expect(total == 2_000 * 16_384)

        let forever = try await HTTPClientStream.open(HTTPClientRequest(port: server.port, target: "/forever"))
        #expect(forever.headers["Content-Type"] == "text/event-stream")
        #expect(try await forever.next(deadline: .now + .seconds(5)).map { String(decoding: $0, as: UTF8.self) } == ": started\n\n")
        await #expect(throws: SocketWaitError.timedOut) { _ = try await forever.next(deadline: .now + .milliseconds(100)) }
        forever.close()
        #expect(try await forever.next() == nil)
        await server.stop()
    }

    @Test func aPooledConnectionTheServerClosedIsReplacedTransparently() async throws {
        // The idle timeout also bounds a new connection's wait for its first byte, so it is
        // not so short that a test suite under load misses it on the fresh connection.
        // (300 ms was missed once in CI under a full suite's load, and 700 ms once beside the
        // console's headless Chromium: the fresh connection was reset.)
        let server = try TestServer.start { $0.timeouts.idle = .milliseconds(1500) }
        let client = HTTPClient()
        #expect(try await client.send(HTTPClientRequest(port: server.port, target: "/hello")).status == 200)
        try await Task.sleep(for: .milliseconds(3200))
        #expect(try await client.send(HTTPClientRequest(port: server.port, target: "/hello")).status == 200)
        #expect(server.server.statistics.acceptedConnections == 2)
        client.closeIdleConnections()
        await server.stop()
    }

    @Test func aSlowAnswerTimesOut() async throws {
        let server = try TestServer.start()
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .milliseconds(100)
        let client = HTTPClient(configuration: configuration)
        await #expect(throws: SocketWaitError.timedOut) {
            _ = try await client.send(HTTPClientRequest(port: server.port, target: "/slow"))
        }
        await server.stop()
    }

    @Test func aRefusedConnectionIsASystemCallError() async throws {
        let server = try TestServer.start()
        let port = server.port
        await server.stop()
        let error = await #expect(throws: SystemCallError.self) {
            _ = try await HTTPClient().send(HTTPClientRequest(port: port, target: "/hello"))
        }
        #expect(error?.errno == ECONNREFUSED)
    }

    // MARK: curl, a real external client

    private static let curlPath = ["/usr/bin/curl", "/usr/local/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs curl and waits for it on a dispatch queue, off Swift's cooperative pool.
    private func runCurl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.curlPath ?? "curl")
        process.arguments = ["--http1.1", "-sS", "--max-time", "10"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = await BlockingCall.run {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test(.enabled(if: curlPath != nil, "curl is not installed"))
    func curlGetsAndPostsIncludingChunkedAndExpectContinue() async throws {
        let server = try TestServer.start()
        let base = "http://127.0.0.1:\(server.port)"
        let plain = try await runCurl(["-i", "\(base)/hello"])
        #expect(plain.status == 0)
        #expect(plain.output.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(plain.output.hasSuffix(#"{"hello":"world"}"#))

        let directory = NSTemporaryDirectory() + "troupe-curl-\(getpid())-\(server.port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/upload.bin"
        let payload = String(repeating: "0123456789abcdef", count: 20_000)  // 320 KB
        try payload.write(toFile: file, atomically: true, encoding: .utf8)

        let chunked = try await runCurl(["-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file)", "\(base)/echo"])
        #expect(chunked.status == 0)
        #expect(chunked.output == payload)

        let expecting = try await runCurl(["-H", "Expect: 100-continue", "--data-binary", "@\(file)", "\(base)/echo"])
        #expect(expecting.status == 0)
        #expect(expecting.output == payload)

        let streamed = try await runCurl(["\(base)/small-stream"])
        #expect(streamed.output == "one two three")
        await server.stop()
    }
}
