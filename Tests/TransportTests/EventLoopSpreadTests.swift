import Glibc
import Testing
import TroupeCore

import TroupeSystem
@testable import TroupeTransport

/// Connections are spread over the server's loops, and each is served on its loop's thread.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct EventLoopSpreadTests {
    /// Records the thread each request is answered on.
    private struct ThreadRecorder: HTTPResponder {
        let threads: LockedBox<[UInt]>

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            threads.withLock { $0.append(UInt(pthread_self())) }
            return .json(200, Array(#"{"ok":true}"#.utf8))
        }
    }

    @Test func connectionsAlternateBetweenTwoLoops() async throws {
        let loops = [try EventLoop(), try EventLoop()]
        let recorder = ThreadRecorder(threads: LockedBox([]))
        let server = try HTTPServer(configuration: .init(port: 0), responder: recorder, loops: loops)
        let serving = server.start()
        for _ in 0..<4 {
            let connection = try RawConnection(port: server.port)
            // Two requests per connection: both on that connection's loop.
            for _ in 0..<2 {
                connection.send("GET /any HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(await connection.readResponse()?.status == 200)
            }
        }
        await server.shutdown(grace: .seconds(1))
        await serving.value
        let threads = recorder.threads.withLock { $0 }
        #expect(threads.count == 8)
        #expect(Set(threads).count == 2, "two loops, two threads")
        for pair in stride(from: 0, to: threads.count, by: 2) {
            #expect(threads[pair] == threads[pair + 1], "a connection stays on its loop")
        }
        for pair in stride(from: 0, to: threads.count - 2, by: 2) {
            #expect(threads[pair] != threads[pair + 2], "the next connection goes to the other loop")
        }
    }
}
