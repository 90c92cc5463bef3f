import Foundation
import Glibc
import Testing
import TroupeActors
import TroupeCore
import TroupeTestSupport
import TroupeTransport

@testable import TroupeApp

/// `GET /v1/events/ws` (API.md, Events and webhooks) against a real client, Python's
/// `websockets`, and a raw socket for what a polite client never does.
@Suite(.serialized, .timeLimit(.minutes(5))) struct EventWebSocketTests {
    private static func unlimited() async throws -> TestServer {
        try await TestServer.start { $0.plans[.starter] = PlanLimits() }
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("websockets")), "python3 with websockets (CI installs it)"))
    func aRealClientFollowsTheWorkspaceResumesAndIsClosedByADrain() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let reader = try await server.createKey(ada, scopes: ["runs:read"])
        let port = server.server.port
        let script = """
            import asyncio, json, sys, urllib.request, websockets
            port, token, other = sys.argv[1], sys.argv[2], sys.argv[3]
            base = "ws://127.0.0.1:" + port + "/v1/events/ws"
            def create():
                request = urllib.request.Request("http://127.0.0.1:" + port + "/v1/runs", data=b'{"workflow":"ship-from-ticket"}', method="POST",
                    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
                return json.load(urllib.request.urlopen(request))["id"]
            async def main():
                async with websockets.connect(base, subprotocols=["troupe.v1", "bearer." + token]) as ws:
                    print("subprotocol", ws.subprotocol)
                    run = await asyncio.get_running_loop().run_in_executor(None, create)
                    for _ in range(3):
                        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        print("event", event["seq"], event["type"], event["run_id"] == run)
                    await asyncio.wait_for(await ws.ping(), 10)
                    print("pong")
                async with websockets.connect(base + "?after=1", additional_headers={"Authorization": "Bearer " + token}) as ws:
                    print("resumed", json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"])
                for headers, name in [({}, "none"), ({"Authorization": "Bearer " + other}, "runs:read")]:
                    try:
                        async with websockets.connect(base, additional_headers=headers):
                            print("refused", name, "no")
                    except websockets.exceptions.InvalidStatus as error:
                        print("refused", name, error.response.status_code)
                async with websockets.connect(base, additional_headers={"X-API-Key": other}) as ws:
                    pass
            asyncio.run(main())
            """
        let result = await runPython(script, arguments: [String(port), ada.token, reader.raw])
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.prefix(6) == ["subprotocol troupe.v1", "event 1 run.created True", "event 2 run.started True",
                                    "event 3 step.started True", "pong", "resumed 2"], "\(result.output)")
        #expect(lines.contains("refused none 401") && lines.contains("refused runs:read 403"), "\(result.output)")

        // A drain closes an open WebSocket with 1001 at once.
        let waiting = Process()
        waiting.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        waiting.arguments = ["python3", "-c", """
            import asyncio, sys, websockets
            async def main():
                async with websockets.connect("ws://127.0.0.1:" + sys.argv[1] + "/v1/events/ws", additional_headers={"Authorization": "Bearer " + sys.argv[2]}) as ws:
                    print("open", flush=True)
                    try:
                        await asyncio.wait_for(ws.recv(), 20)
                    except websockets.exceptions.ConnectionClosed as closed:
                        print("closed", closed.rcvd.code if closed.rcvd else None, flush=True)
            asyncio.run(main())
            """, String(port), ada.token]
        let out = Pipe()
        waiting.standardOutput = out
        try waiting.run()
        #expect(await TroupeProcess.line(from: out, prefix: "open") != nil)
        let started = ContinuousClock.now
        await server.server.shutdown(grace: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(5))
        _ = await TroupeProcess.waitForExit(waiting)
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(said.contains("closed 1001"), "\(said)")
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    @Test func aClientThatBreaksTheProtocolGets1002AndOneThatStopsAnsweringPings1001() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        let rude = try RawWebSocket(port: server.server.port, token: ada.token)
        #expect(await rude.handshake() == "101 s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        rude.send([0x81, 0x02, 0x68, 0x69])  // unmasked
        #expect(await rude.nextMessage() == .close(code: 1002, reason: ""))

        let silent = try RawWebSocket(port: server.server.port, token: ada.token)
        #expect(await silent.handshake() == "101 s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let bus = server.server.app.runtime.store.journal.bus
        while bus.subscriberCount(workspaceID: ada.workspaceID) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        bus.heartbeat()
        #expect(await silent.nextMessage() == .ping([]))
        bus.heartbeat()  // the ping went unanswered
        #expect(await silent.nextMessage() == .close(code: 1001, reason: ""))
        await server.stop()
    }
}

/// A WebSocket client over a blocking socket that does only what a test tells it, reading off
/// the cooperative pool. `@unchecked Sendable`: one test owns each instance and awaits every
/// call before the next.
final class RawWebSocket: @unchecked Sendable {
    private let fd: Int32
    private var parser = WebSocketFrameParser(requireMask: false)
    private var head: [UInt8] = []

    init(port: Int, token: String) throws {
        fd = try LoopbackSocket.connect(port: port)
        send(Array(("GET /v1/events/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(token)\r\n\r\n").utf8))
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The status and `Sec-WebSocket-Accept` of the answer, as "101 <accept>".
    func handshake() async -> String {
        await offPool { [self] in
            while !head.containsCRLFCRLF {
                guard let bytes = receive() else { return "" }
                head += bytes
            }
            let end = head.firstCRLFCRLF
            let text = String(decoding: head[..<end], as: UTF8.self)
            parser.append(head[(end + 4)...])
            let status = text.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            let accept = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-accept:") }?
                .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? ""
            return "\(status) \(accept)"
        }
    }

    /// The server's next message, or nil when it closed or nothing came in 10 s.
    func nextMessage() async -> WebSocketMessage? {
        await offPool { [self] in
            while true {
                if let message = try? parser.next() { return message }
                guard let bytes = receive() else { return nil }
                parser.append(bytes)
            }
        }
    }

    private func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[..<count]) : nil
    }

    private func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await BlockingCall.run(body)
    }
}

extension Array where Element == UInt8 {
    fileprivate var firstCRLFCRLF: Int {
        (0..<Swift.max(0, count - 3)).first { self[$0] == 13 && self[$0 + 1] == 10 && self[$0 + 2] == 13 && self[$0 + 3] == 10 } ?? count
    }

    fileprivate var containsCRLFCRLF: Bool { firstCRLFCRLF < count }
}
