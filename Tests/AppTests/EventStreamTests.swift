import Foundation
import Testing
import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTestSupport
import TroupeTransport

@testable import TroupeApp

/// `GET /v1/runs/{id}/events` and `GET /v1/events/stream` against the real server.
@Suite(.serialized, .timeLimit(.minutes(5))) struct EventStreamTests {
    private static let oneTask = #"[{"id":"build","kind":"task","queue":"build"}]"#

    /// A server whose starter plan has no request limit (these tests send many requests).
    private static func unlimited() async throws -> TestServer {
        try await TestServer.start { $0.plans[.starter] = PlanLimits() }
    }

    private func workflow(_ server: TestServer, _ account: Account, slug: String = "one") async throws {
        let reply = try await server.send("POST", "/v1/workflows", token: account.token, json: #"{"slug":"\#(slug)","name":"W","steps":\#(Self.oneTask)}"#)
        guard reply.status == 201 else { throw TestFailure("workflow: \(reply.text)") }
    }

    private func run(_ server: TestServer, _ token: String, workflow: String = "one") async throws -> String {
        let reply = try await server.send("POST", "/v1/runs", token: token, json: #"{"workflow":"\#(workflow)"}"#)
        guard reply.status == 201, let id = reply.json["id"]?.stringValue else { throw TestFailure("run: \(reply.status) \(reply.text)") }
        return id
    }

    /// Claims one job and completes it.
    private func work(_ server: TestServer, _ token: String) async throws {
        let claimed = try await server.send("POST", "/v1/jobs/claim", token: token, json: #"{"queues":["build"],"worker_id":"w","wait_ms":5000}"#)
        guard let id = claimed.json["id"]?.stringValue, let lease = claimed.json["lease_token"]?.stringValue else {
            throw TestFailure("claim: \(claimed.status) \(claimed.text)")
        }
        let done = try await server.send("POST", "/v1/jobs/\(id)/complete", token: token, json: #"{"lease_token":"\#(lease)"}"#)
        guard done.status == 200 else { throw TestFailure("complete: \(done.text)") }
    }

    private func stream(
        _ server: TestServer, _ target: String, token: String, headers: [String: String] = [:], timeout: Duration = .seconds(10)
    ) throws -> EventStreamClient {
        try EventStreamClient(port: server.server.port, target: target, headers: headers.merging(["Authorization": "Bearer \(token)"]) { a, _ in a },
                              timeout: timeout)
    }

    /// The workspace's last seq, read from the database file.
    private func lastSeq(_ server: TestServer, _ workspaceID: String) throws -> Int64 {
        let db = try Database(path: server.databasePath, options: DatabaseOptions(readOnly: true))
        defer { db.close() }
        return try db.scalar("SELECT coalesce(max(last_seq), 0) FROM event_rows WHERE workspace_id = ?", [.text(workspaceID)])?.integerValue ?? 0
    }

    @Test func aRunsStreamReplaysItFromItsStartAndEndsAfterItsTerminalEvent() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        try await workflow(server, ada)
        let id = try await run(server, ada.token)
        let live = try stream(server, "/v1/runs/\(id)/events", token: ada.token)
        #expect(await live.readHead() == 200)
        #expect(live.headers["content-type"]?.hasPrefix("text/event-stream") == true)
        let first = try #require(await live.next())
        #expect(first.event == "run.created")
        try await work(server, ada.token)
        let rest = await live.rest()
        #expect(([first] + rest).map(\.event) == ["run.created", "run.started", "step.started", "step.succeeded", "run.succeeded"])
        #expect(live.ended, "the stream ended after run.succeeded")

        // `data:` is the whole event object; `id:` its seq.
        let event = try JSON.parse(Array(first.data.utf8))
        #expect(event["id"]?.stringValue?.hasPrefix("evt_") == true)
        #expect(event["seq"]?.intValue == first.id)
        #expect(event["type"] == "run.created")
        #expect(event["workspace_id"]?.stringValue == ada.workspaceID)
        #expect(event["run_id"]?.stringValue == id)
        #expect(event["data"]?.objectValue != nil)
        #expect(event["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil)

        // After it finished: replayed whole, or from Last-Event-ID on, and ended at once.
        let replay = try stream(server, "/v1/runs/\(id)/events", token: ada.token)
        #expect(await replay.rest().map(\.id) == ([first] + rest).map(\.id))
        let resumed = try stream(server, "/v1/runs/\(id)/events", token: ada.token, headers: ["Last-Event-ID": "\(rest[1].id ?? 0)"])
        #expect(await resumed.rest().map(\.event) == ["step.succeeded", "run.succeeded"])
        let pastTheEnd = try stream(server, "/v1/runs/\(id)/events?after=\(rest.last?.id ?? 0)", token: ada.token)
        #expect(await pastTheEnd.rest().isEmpty)
        #expect(pastTheEnd.ended)
        await server.stop()
    }

    @Test func streamsCheckTheirCallerTheirRunAndTheirResumePoint() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        try await workflow(server, ada)
        let id = try await run(server, ada.token)
        #expect(try await server.send("GET", "/v1/runs/\(id)/events", token: bob.token).status == 404, "another workspace's run")
        #expect(try await server.send("GET", "/v1/runs/run_nope/events", token: ada.token).status == 404)
        #expect(try await server.send("GET", "/v1/events/stream").status == 401)
        let key = try await server.createKey(ada, scopes: ["runs:read"])
        let refused = try await server.send("GET", "/v1/events/stream", token: key.raw)
        #expect(refused.status == 403)
        #expect(refused.errorCode == "missing_scope")
        for bad in ["-1", "1.5", "abc", "", "99999999999999999999", "9223372036854775808"] {
            let reply = try await server.send("GET", "/v1/events/stream", token: ada.token, headers: ["Last-Event-ID": bad])
            #expect(reply.status == 400, "Last-Event-ID \(bad)")
            #expect(reply.errorCode == "invalid_request")
        }
        #expect(try await server.send("GET", "/v1/events/stream?after=x", token: ada.token).status == 400)
        #expect(try await server.send("GET", "/v1/healthz").status == 404)
        #expect(try await server.send("GET", "/healthz").status == 200)
        await server.stop()
    }

    /// Eight writers change runs while a reader reads a random number of events, hangs up, and
    /// comes back with `Last-Event-ID`: it ends with every seq of the workspace exactly once,
    /// in order.
    @Test func aReaderReconnectingAtRandomPointsGetsEverySeqOnceInOrder() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        try await workflow(server, ada)
        let writersDone = LockedBox(false)
        let writers = Task {
            defer { writersDone.withLock { $0 = true } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<6 {
                            let id = try await run(server, ada.token)
                            _ = try await server.send("POST", "/v1/runs/\(id)/cancel", token: ada.token)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var random = SeededGenerator(seed: 20261201)
        var seen: [Int64] = []
        var connections = 0
        while true {
            let resume = seen.last.map { ["Last-Event-ID": "\($0)"] } ?? [:]
            let target = seen.isEmpty ? "/v1/events/stream?after=0" : "/v1/events/stream"
            // A short read timeout: once every event is read, the last read waits it out.
            let client = try stream(server, target, token: ada.token, headers: resume, timeout: .seconds(1))
            connections += 1
            let status = await client.readHead()
            #expect(status == 200, "connection \(connections) after \(seen.count) events")
            if status != 200 { break }
            let wanted = Int.random(in: 1...15, using: &random)
            for _ in 0..<wanted {
                guard let message = await client.next(), let seq = message.id else { break }
                seen.append(seq)
            }
            client.hangUp()
            let last = try lastSeq(server, ada.workspaceID)
            if writersDone.value, seen.last == last { break }
            if connections > 2_000 { break }
        }
        try await writers.value
        let total = try lastSeq(server, ada.workspaceID)
        #expect(total == 8 * 6 * 4, "each run: created, started, step started, cancelled")
        #expect(seen == Array(1...total), "every seq once, in order, over \(connections) connections")
        await server.stop()
    }

    /// A reader that stops reading while hundreds of events are committed: the server neither
    /// buffers them all for it nor loses any — once it reads again, it gets every one in order.
    @Test func aStalledReaderCatchesUpFromTheLogWithNoGap() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        try await workflow(server, ada)
        let client = try stream(server, "/v1/events/stream", token: ada.token)
        client.shrinkReceiveBuffer()
        #expect(await client.readHead() == 200)
        // The stream starts live: from its subscription on.
        let bus = server.server.app.runtime.store.journal.bus
        while bus.subscriberCount(workspaceID: ada.workspaceID) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        // 768 events, past the bus's 512 per subscriber.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<32 { _ = try await run(server, ada.token) } }
            }
            try await group.waitForAll()
        }
        let total = try lastSeq(server, ada.workspaceID)
        #expect(total == 768)
        var seen: [Int64] = []
        while seen.count < Int(total), let message = await client.next(), let seq = message.id { seen.append(seq) }
        #expect(seen == Array(1...total))
        await server.stop()
    }

    @Test func theWorkspaceStreamStartsLiveAndSendsAKeepAliveComment() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        try await workflow(server, ada)
        _ = try await run(server, ada.token)
        let client = try stream(server, "/v1/events/stream", token: ada.token)
        #expect(await client.readHead() == 200)
        _ = try await run(server, ada.token)
        let first = try #require(await client.next())
        #expect(first.id == 4, "the three events before it connected are not replayed")
        #expect(client.comments.contains("stream open"))
        server.server.app.runtime.store.journal.bus.heartbeat()
        try await Task.sleep(for: .milliseconds(200))  // written before the next event
        _ = try await run(server, ada.token)
        var seqs: [Int64] = []
        while seqs.last != 7, let message = await client.next(), let seq = message.id { seqs.append(seq) }
        #expect(seqs == [5, 6, 7])
        #expect(client.comments == ["stream open", "keep-alive"])
        await server.stop()
    }

    /// A drain ends open streams at once: the server stops without waiting out its grace.
    @Test func aDrainClosesOpenStreams() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        let clients = try (0..<3).map { _ in try stream(server, "/v1/events/stream", token: ada.token) }
        for client in clients { #expect(await client.readHead() == 200) }
        let started = ContinuousClock.now
        await server.server.shutdown(grace: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(5))
        for client in clients {
            _ = await client.rest()
            #expect(client.ended)
        }
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    private static let curlPath = ["/usr/bin/curl", "/usr/local/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// curl -N, a real client, follows a run's stream to its end.
    @Test(.enabled(if: curlPath != nil, "curl is not installed"))
    func curlFollowsARunsStreamToItsEnd() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        try await workflow(server, ada)
        let id = try await run(server, ada.token)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.curlPath ?? "curl")
        process.arguments = ["-sSN", "--max-time", "20", "-H", "Authorization: Bearer \(ada.token)",
                             "http://127.0.0.1:\(server.server.port)/v1/runs/\(id)/events"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        try await Task.sleep(for: .milliseconds(200))
        try await work(server, ada.token)
        let output = await BlockingCall.run {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(process.terminationStatus == 0, "curl saw the body end")
        let types = output.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(types == ["run.created", "run.started", "step.started", "step.succeeded", "run.succeeded"])
        #expect(output.contains("id: 1\n"))
        await server.stop()
    }

    /// The attack: a workspace opening streams without end (each holds a connection and a
    /// subscriber). The 101st is 429 while 100 are open, decided when the stream subscribes,
    /// before it is answered; closing one makes room; another workspace is not counted.
    @Test func aWorkspaceOpensAtMostOneHundredStreams() async throws {
        let server = try await Self.unlimited()
        let ada = try await server.signUp()
        var open: [EventStreamClient] = []
        defer { for stream in open { stream.hangUp() } }
        for _ in 0..<100 {
            let stream = try EventStreamClient(port: server.server.port, target: "/v1/events/stream", headers: ["Authorization": "Bearer \(ada.token)"])
            #expect(await stream.readHead() == 200)
            open.append(stream)
        }
        let refused = try await server.send("GET", "/v1/events/stream", token: ada.token)
        #expect(refused.status == 429)
        #expect(refused.headers["Retry-After"] != nil)
        let grace = try await server.signUp()
        let theirs = try EventStreamClient(port: server.server.port, target: "/v1/events/stream", headers: ["Authorization": "Bearer \(grace.token)"])
        #expect(await theirs.readHead() == 200, "another workspace has its own hundred")
        theirs.hangUp()
        open.removeLast().hangUp()
        // An idle stream learns its client left at its next write: the 15 s keep-alive at most.
        var admitted = 429
        for _ in 0..<250 where admitted != 200 {
            try await Task.sleep(for: .milliseconds(100))
            let stream = try EventStreamClient(port: server.server.port, target: "/v1/events/stream", headers: ["Authorization": "Bearer \(ada.token)"])
            admitted = await stream.readHead()
            if admitted == 200 { open.append(stream) } else { stream.hangUp() }
        }
        #expect(admitted == 200, "a closed stream makes room")
        await server.stop()
    }
}
