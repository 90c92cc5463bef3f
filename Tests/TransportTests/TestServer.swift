import Foundation
import Synchronization
import TroupeTransport

/// A real server on port 0 with routes that tests use, started and shut down around a test.
struct TestServer {
    let server: HTTPServer
    let serving: Task<Void, Never>
    var port: Int { server.port }

    /// Errors that streaming handlers saw (a client that went away shows up here).
    static let streamErrors = Mutex<[String]>([])
    /// `/held` answers once this is true (or after 5 s).
    static let heldReleased = Atomic<Bool>(false)

    static func router() -> Router {
        var router = Router()
        router.get("/hello") { _, _ in .json(200, Array(#"{"hello":"world"}"#.utf8)) }
        router.get("/echo/{name}") { request, parameters in
            .json(200, Array("{\"name\":\"\(parameters["name"] ?? "")\",\"target\":\"\(request.head.target)\"}".utf8))
        }
        router.post("/echo") { request, _ in
            HTTPResponse(status: 200, headers: ["Content-Type": "application/octet-stream"], body: .bytes(request.body))
        }
        router.get("/slow") { _, _ in
            try? await Task.sleep(for: .milliseconds(300))
            return .json(200, Array(#"{"slow":true}"#.utf8))
        }
        router.get("/held") { _, _ in
            let deadline = ContinuousClock.now + .seconds(5)
            while !heldReleased.load(ordering: .relaxed), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            return .json(200, Array(#"{"held":true}"#.utf8))
        }
        router.get("/small-stream") { _, _ in
            HTTPResponse(status: 200, body: .stream { writer in
                for word in ["one ", "two ", "three"] { try await writer.write(Array(word.utf8)) }
            })
        }
        router.get("/peer") { request, _ in
            .json(200, Array("{\"peer\":\"\(request.remoteAddress ?? "unknown")\"}".utf8))
        }
        router.get("/forever") { _, _ in
            HTTPResponse(status: 200, headers: ["Content-Type": "text/event-stream"], body: .stream { writer in
                try await writer.write(Array(": started\n\n".utf8))
                await withCheckedContinuation { (stopped: CheckedContinuation<Void, Never>) in writer.onStop { stopped.resume() } }
            })
        }
        router.get("/stream") { _, _ in
            HTTPResponse(status: 200, body: .stream { writer in
                do {
                    for index in 0..<2_000 {
                        try await writer.write(Array(repeating: UInt8(ascii: "a") + UInt8(index % 26), count: 16_384))
                    }
                } catch {
                    streamErrors.withLock { $0.append("\(error)") }
                    throw error
                }
            })
        }
        return router
    }

    static func start(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in }) throws -> TestServer {
        var configuration = HTTPServer.Configuration(port: 0)
        configure(&configuration)
        let server = try HTTPServer(configuration: configuration, responder: router())
        return TestServer(server: server, serving: server.start())
    }

    func stop() async {
        await server.shutdown(grace: .seconds(2))
        await serving.value
    }
}

/// This process's open fds that are TCP sockets with local port `port`: the server's listener
/// and the connections it accepted. Counted exactly, so other tests running in parallel and
/// opening files or sockets of their own do not disturb it.
func serverSocketCount(port: Int) -> Int {
    // Read to the end: procfs reports a size of 0, and a sized read stops after one page.
    let table = FileHandle(forReadingAtPath: "/proc/self/net/tcp").flatMap { try? $0.readToEnd() }
        .map { String(decoding: $0, as: UTF8.self) } ?? ""
    let hexPort = String(format: ":%04X", port)
    let inodes = Set(table.split(separator: "\n").dropFirst().compactMap { line -> String? in
        let columns = line.split(separator: " ", omittingEmptySubsequences: true)
        guard columns.count > 9, columns[1].hasSuffix(hexPort) else { return nil }
        return String(columns[9])
    })
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.filter { fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
            target.hasPrefix("socket:[")
        else { return false }
        return inodes.contains(String(target.dropFirst(8).dropLast()))
    }.count
}
