import Foundation
import Testing
import TroupeCore
import TroupeTestSupport

/// API.md "Sandboxes" through the in-process server: the lifecycle, exec's answer (stdin, env,
/// exit code, cap, timeout), one exec at a time, the plan's cap, exec off, bad input, and
/// another workspace's sandbox being absent.
@Suite(.serialized, .timeLimit(.minutes(5))) struct SandboxRoutesTests {
    /// A server whose starter plan does not limit requests (these tests poll), exec on or off,
    /// with `sandboxCap` live sandboxes a workspace (nil: the plan's).
    private func start(exec: Bool = true, sandboxCap: Int? = nil) async throws -> TestServer {
        try await TestServer.start { config in
            config.sandboxExec = exec
            config.plans[.starter]?.requestsPerMinute = nil
            config.plans[.starter]?.requestsPerDay = nil
            if let sandboxCap { config.plans[.starter]?.sandboxes = sandboxCap }
        }
    }

    /// A new sandbox, once `ready`.
    private func ready(_ server: TestServer, _ token: String, _ body: String = "{}") async throws -> JSON {
        let created = try await server.send("POST", "/v1/sandboxes", token: token, json: body)
        guard created.status == 202, let id = created.json["id"]?.stringValue else { throw TestFailure("create: \(created.status) \(created.text)") }
        #expect(created.json["status"] == "provisioning")
        let current = try await sandbox(server, token, id, until: "ready")
        #expect(current["status"] == "ready")
        return current
    }

    /// The sandbox once it shows `status` (polled every 20 ms for up to 10 s), or as it is then.
    private func sandbox(_ server: TestServer, _ token: String, _ id: String, until status: JSON) async throws -> JSON {
        var current = try await server.send("GET", "/v1/sandboxes/\(id)", token: token).json
        for _ in 0..<500 where current["status"] != status {
            try await Task.sleep(for: .milliseconds(20))
            current = try await server.send("GET", "/v1/sandboxes/\(id)", token: token).json
        }
        return current
    }

    @Test func execAnswersWhatTheCommandDidWithinItsLimits() async throws {
        let server = try await start()
        let ada = try await server.signUp()
        let box = try await ready(server, ada.token, #"{"resource_limits":{"max_output_bytes":64},"ttl_s":600}"#)
        let id = try #require(box["id"]?.stringValue)
        #expect(box["resource_limits"]?["max_output_bytes"] == 64)
        #expect(box["resource_limits"]?["cpu_seconds"] == 10, "the defaults fill in what is not given")
        #expect(box["isolation"]?.arrayValue?.contains("rlimits") == true)

        let ran = try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token,
                                        json: #"{"argv":["sh","-c","cat; echo $GREETING; echo oops >&2; exit 4"],"stdin":"in\n","env":{"GREETING":"hello"}}"#)
        #expect(ran.status == 200)
        #expect(ran.json["exit_code"] == 4)
        #expect(ran.json["stdout"] == "in\nhello\n")
        #expect(ran.json["stderr"] == "oops\n")
        #expect(ran.json["truncated"] == false)

        let flood = try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["sh","-c","yes | head -c 100000"]}"#)
        #expect(flood.json["truncated"] == true)
        #expect(flood.json["stdout"]?.stringValue?.utf8.count == 64)

        let slow = try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["sleep","30"],"timeout_ms":200}"#)
        #expect(slow.json["timed_out"] == true)
        #expect(slow.json["exit_code"]?.isNull == true)

        let missing = try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["no-such-program-here"]}"#)
        #expect(missing.status == 422)
        let eve = try await server.signUp()
        #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: eve.token, json: #"{"argv":["true"]}"#).status == 404)

        #expect(try await server.send("DELETE", "/v1/sandboxes/\(id)", token: ada.token).status == 202)
        let ended = try await sandbox(server, ada.token, id, until: "terminated")
        #expect(ended["status"] == "terminated")
        #expect(ended["reason"] == "deleted")
        #expect(!FileManager.default.fileExists(atPath: server.directory + "/sandboxes/\(id)"), "its directory is removed")
        #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["true"]}"#).status == 409)
        await server.stop()
    }

    @Test func oneExecAtATimeAndThePlansCap() async throws {
        let server = try await start(sandboxCap: 1)
        let ada = try await server.signUp()
        let id = try #require(try await ready(server, ada.token)["id"]?.stringValue)
        let capped = try await server.send("POST", "/v1/sandboxes", token: ada.token, json: "{}")
        #expect(capped.status == 429)
        #expect(capped.json["error"]?["message"]?.stringValue?.contains("1 live sandboxes") == true)

        async let long = server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["sleep","1"]}"#)
        _ = try await sandbox(server, ada.token, id, until: "busy")
        let second = try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["true"]}"#)
        #expect(second.status == 409)
        #expect(try await long.json["exit_code"] == 0)
        #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["true"]}"#).status == 200)
        await server.stop()
    }

    @Test func execOffBadInputAndAnotherWorkspace() async throws {
        let server = try await start(exec: false)
        let ada = try await server.signUp()
        let eve = try await server.signUp()
        let id = try #require(try await ready(server, ada.token)["id"]?.stringValue)
        let off = try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["true"]}"#)
        #expect(off.status == 403)
        #expect(off.json["error"]?["message"]?.stringValue?.contains("sandbox_exec") == true)

        for body in [#"{"resource_limits":{"memory_mb":1}}"#, #"{"resource_limits":{"disk_mb":10}}"#, #"{"ttl_s":0}"#,
                     #"{"runtime":"docker"}"#, #"{"resource_limits":"big"}"#] {
            #expect(try await server.send("POST", "/v1/sandboxes", token: ada.token, json: body).status == 422, "\(body)")
        }
        for body in [#"{"argv":[]}"#, #"{"argv":["a\u0000b"]}"#, #"{"argv":["true"],"env":{"1X":"y"}}"#, #"{"argv":["true"],"timeout_ms":0}"#] {
            #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: body).status == 422, "\(body)")
        }
        #expect(try await server.send("GET", "/v1/sandboxes/\(id)", token: eve.token).status == 404)
        #expect(try await server.send("DELETE", "/v1/sandboxes/\(id)", token: eve.token).status == 404)
        #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: eve.token, json: #"{"argv":["true"]}"#).status == 403,
                "exec off answers the same for every id: it tells nothing of whose they are")
        #expect(try await server.send("GET", "/v1/sandboxes", token: eve.token).json["data"]?.arrayValue?.isEmpty == true)
        await server.stop()
    }

    /// A sandbox past its `ttl_s` is reaped (its command killed, `terminated`, reason `expired`);
    /// its life is told in the workspace's events.
    @Test func anExpiredSandboxIsReapedAndItsLifeIsInTheEvents() async throws {
        let server = try await start()
        let ada = try await server.signUp()
        // 3 s: long enough for the exec to have started under a loaded suite (with 1 s the
        // sandbox was once reaped before its exec began), short enough to wait for.
        let id = try #require(try await ready(server, ada.token, #"{"ttl_s":3}"#)["id"]?.stringValue)
        let marker = "3598.\(Int.random(in: 100_000...999_999))"
        async let exec = server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["sleep","\#(marker)"]}"#)
        let current = try await sandbox(server, ada.token, id, until: "terminated")
        #expect(current["status"] == "terminated")
        #expect(current["reason"] == "expired")
        #expect(try await exec.json["signal"] == "SIGKILL", "its command was killed")
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty)

        let stream = try EventStreamClient(port: server.server.port, target: "/v1/events/stream?after=0",
                                           headers: ["Authorization": "Bearer \(ada.token)"])
        defer { stream.hangUp() }
        #expect(await stream.readHead() == 200)
        var types: [String] = []
        while types.last != "sandbox.terminated", let message = await stream.next() {
            if let type = message.event, type.hasPrefix("sandbox.") { types.append(type) }
        }
        #expect(types == ["sandbox.ready", "sandbox.exec_finished", "sandbox.terminated"])
        await server.stop()
    }

    /// A graceful stop ends the command under way (its exec answers) and leaves nothing running.
    @Test func aShutdownEndsTheCommandsUnderWay() async throws {
        let server = try await start()
        let ada = try await server.signUp()
        let id = try #require(try await ready(server, ada.token)["id"]?.stringValue)
        let marker = "3597.\(Int.random(in: 100_000...999_999))"
        async let exec = server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["sleep","\#(marker)"]}"#)
        for _ in 0..<100 where ProcessTable.pids(commandLineContaining: marker).isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!ProcessTable.pids(commandLineContaining: marker).isEmpty)
        let started = ContinuousClock.now
        await server.stop()
        #expect(ContinuousClock.now - started < .seconds(3), "the drain did not wait for the command")
        #expect(try await exec.status == 200)
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty)
    }

    /// The audit record of an exec names what ran, not only the program: its argv as JSON, cut
    /// at 256 characters.
    @Test func theExecsAuditEntryNamesItsArgv() async throws {
        let server = try await start()
        let ada = try await server.signUp()
        let box = try await ready(server, ada.token)
        let id = try #require(box["id"]?.stringValue)
        #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["sh","-c","echo hi"]}"#).status == 200)
        let long = String(repeating: "a", count: 400)
        #expect(try await server.send("POST", "/v1/sandboxes/\(id)/exec", token: ada.token, json: #"{"argv":["echo","\#(long)"]}"#).status == 200)
        let entries = try await server.send("GET", "/v1/audit/logs?event=sandbox.exec", token: ada.token).json["data"]?.arrayValue ?? []
        #expect(entries.count == 2)
        let notes = entries.compactMap { $0["note"]?.stringValue }
        #expect(notes.last == #"["sh","-c","echo hi"]"#)
        #expect(notes.first?.count == 256 && notes.first?.hasPrefix(#"["echo","aaa"#) == true && notes.first?.hasSuffix("…") == true)
        await server.stop()
    }
}
