import Foundation
import Glibc
import Testing
import TroupeCore
import TroupeTestSupport
import TroupeTransport

/// Attacks from inside a sandbox, on the real binary: each is contained, `/healthz` answers
/// within 100 ms throughout (every probe), and no process of the sandboxes is left after
/// (checked in /proc). The server and the probe run at nice -10 where the test may (root, as in
/// CI), as a server on a host of its own would beside this suite's other tests: the probe then
/// measures what a sandbox takes from the server, not what a hundred tests beside it take. The
/// sandbox's command stays at nice 19 (the launcher sets it, whatever the server's).
@Suite(.serialized, .timeLimit(.minutes(5))) struct SandboxEscapeTests {

    /// A server with exec on, its sandbox root and database in a directory of their own.
    private final class Server: Sendable {
        let process: Process
        let port: Int
        let directory: String
        let token: String
        /// Its sandboxes' uids start here: each test server has a range of its own.
        let uidBase: UInt32

        init(process: Process, port: Int, directory: String, token: String, uidBase: UInt32) {
            self.process = process
            self.port = port
            self.directory = directory
            self.token = token
            self.uidBase = uidBase
        }
    }

    static let serverNiceness: Int32 = -10

    private func start() async throws -> Server {
        let directory = NSTemporaryDirectory() + "troupe-escape-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/config.json"
        let uidBase = SandboxUIDRange.freshBase()
        try Data(#"""
            {"signup": true, "sandbox_exec": true, "sandbox_uid_base": \#(uidBase), "sandbox_root": "\#(directory)/sandboxes", "password_iterations": 1000,
             "sandbox_disk_mb": 16, "sandbox_disk_entries": 2000,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "sandboxes": 4}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        let (process, port) = try await TroupeProcess.serve(db: directory + "/troupe.db", config: config,
                                                            launch: .init(niceness: Self.serverNiceness))
        let (_, account) = try await send(port, "POST", "/v1/auth/signup", token: nil,
                                          json: #"{"email":"box@example.com","password":"correct horse battery","workspace_name":"Box"}"#)
        return Server(process: process, port: port, directory: directory, token: try #require(account["token"]?.stringValue),
                      uidBase: uidBase)
    }

    private func stop(_ server: Server) async {
        server.process.terminate()
        _ = await TroupeProcess.waitForExit(server.process)
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    private func send(_ port: Int, _ method: String, _ target: String, token: String?, json: String = "") async throws -> (Int, JSON) {
        try await TroupeProcess.send(port, method, target, token: token, json: json)
    }

    /// A ready sandbox's id and isolation.
    private func sandbox(_ server: Server, limits: String = "{}") async throws -> (id: String, isolation: [String]) {
        let (status, created) = try await send(server.port, "POST", "/v1/sandboxes", token: server.token, json: #"{"resource_limits":\#(limits)}"#)
        #expect(status == 202)
        let id = try #require(created["id"]?.stringValue)
        for _ in 0..<200 {
            let (_, current) = try await send(server.port, "GET", "/v1/sandboxes/\(id)", token: server.token)
            if current["status"]?.stringValue == "ready" {
                return (id, current["isolation"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("sandbox \(id) never became ready")
    }

    /// Runs `script` with `sh -c` while `/healthz` is probed every 20 ms (``HealthProbe``); the
    /// exec's answer and the slowest probe.
    private func exec(_ server: Server, _ id: String, _ script: String, timeoutMS: Int = 5_000) async throws -> (JSON, Duration) {
        let probe = HealthProbe(port: server.port, niceness: Self.serverNiceness)
        let body = JSON.object(JSONObject([("argv", .array([.string("sh"), .string("-c"), .string(script)])), ("timeout_ms", .int(Int64(timeoutMS)))]))
        let (status, answer) = try await send(server.port, "POST", "/v1/sandboxes/\(id)/exec", token: server.token, json: body.text)
        #expect(status == 200, "\(answer)")
        let (latencies, failures) = probe.stop()
        #expect(failures == 0, "\(failures) probes got no 200")
        #expect(!latencies.isEmpty)
        return (answer, latencies.max() ?? .zero)
    }

    /// The server's log lines (its stderr, kept beside its database) of `/healthz` answers that
    /// took it over 20 ms: whether a slow probe was slow inside the server or outside it.
    private func slowHealthChecks(_ server: Server) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: server.directory)) ?? []
        return files.filter { $0.contains(".stderr-") }.flatMap { file -> [String] in
            let text = (try? String(contentsOfFile: server.directory + "/" + file, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter { line in
                guard line.contains("/healthz"), let latency = try? JSON.parse(Array(line.utf8))["latency_ms"]?.doubleValue else { return false }
                return latency > 20
            }.map(String.init)
        }
    }

    /// Processes running as one of the server's sandbox uids, or whose command line holds `marker`.
    private func leftovers(_ server: Server, marker: String) -> Set<Int> {
        Set(ProcessTable.pids(uids: server.uidBase..<server.uidBase + 65_536)).union(ProcessTable.pids(commandLineContaining: marker))
    }

    private func contained(_ server: Server, _ slowest: Duration, marker: String) async throws {
        #expect(slowest <= .milliseconds(100), "the slowest /healthz probe took \(slowest); the server's own log: \(slowHealthChecks(server))")
        try await Task.sleep(for: .milliseconds(50))
        #expect(leftovers(server, marker: marker).isEmpty)
    }

    @Test func aForkBomb() async throws {
        let server = try await start()
        let box = try await sandbox(server)
        let marker = "troupe-bomb-\(RandomID.make(prefix: "f"))"
        let (answer, slowest) = try await exec(server, box.id, "bomb() { bomb | bomb & }; bomb; sleep 1 # \(marker)", timeoutMS: 3_000)
        #expect(answer["duration_ms"]?.intValue ?? 0 < 5_000)
        try await contained(server, slowest, marker: marker)
        await stop(server)
    }

    @Test func aMemoryHog() async throws {
        let server = try await start()
        let box = try await sandbox(server, limits: #"{"memory_mb": 64}"#)
        let (answer, slowest) = try await exec(server, box.id, "python3 -c 'x = bytearray(1 << 30)' || head -c 1000000000 /dev/zero | sort")
        #expect(answer["exit_code"]?.intValue != 0)
        try await contained(server, slowest, marker: "bytearray")
        await stop(server)
    }

    @Test func aCPUSpin() async throws {
        let server = try await start()
        let box = try await sandbox(server, limits: #"{"cpu_seconds": 1}"#)
        let marker = "troupe-spin-\(RandomID.make(prefix: "c"))"
        let (answer, slowest) = try await exec(server, box.id, "exec sh -c 'while :; do :; done' \(marker)", timeoutMS: 30_000)
        #expect(["SIGXCPU", "SIGKILL"].contains(answer["signal"]?.stringValue ?? ""))
        #expect(answer["timed_out"] == false)
        try await contained(server, slowest, marker: marker)
        await stop(server)
    }

    @Test func aOneGiBOutputFlood() async throws {
        let server = try await start()
        let box = try await sandbox(server, limits: #"{"max_output_bytes": 65536}"#)
        let (answer, slowest) = try await exec(server, box.id, "head -c 1073741824 /dev/zero | tr '\\0' x")
        #expect(answer["truncated"] == true)
        #expect(answer["stdout"]?.stringValue?.utf8.count == 65_536)
        #expect(answer["duration_ms"]?.intValue ?? .max < 5_000)
        try await contained(server, slowest, marker: "1073741824")
        await stop(server)
    }

    @Test func aChildThatCallsSetsidAndSleeps() async throws {
        let server = try await start()
        let box = try await sandbox(server)
        let (answer, slowest) = try await exec(server, box.id, "setsid sh -c 'exec -a troupe-escaped-sleeper sleep 600' & echo started")
        #expect(answer["stdout"]?.stringValue == "started\n")
        try await contained(server, slowest, marker: "troupe-escaped-sleeper")
        await stop(server)
    }

    @Test func aProcessWritingOutsideItsDirectory() async throws {
        let server = try await start()
        let box = try await sandbox(server)
        let marker = "troupe-escape-\(RandomID.make(prefix: "w"))"
        let targets = ["\(server.directory)/sandboxes/\(marker)", "\(server.directory)/\(marker)", "/etc/\(marker)", "/tmp/\(marker)"]
        let script = targets.map { "echo x > \($0)" }.joined(separator: "; ") + "; true"
        let (_, slowest) = try await exec(server, box.id, script)
        for target in targets where target.hasPrefix("/tmp/") ? box.isolation.contains("mount_namespace") : box.isolation.contains("user") {
            #expect(!FileManager.default.fileExists(atPath: target), "\(target) was written")
        }
        try await contained(server, slowest, marker: marker)
        await stop(server)
    }

    /// Files of 2 MiB, 40 MiB a second (this server's bound is 16 MiB and 2,000 entries, so that
    /// the test writes little): stopped soon after the directory passes its bound, and what it
    /// holds can be removed but not added to.
    @Test func aCommandFillingTheDisk() async throws {
        let server = try await start()
        let box = try await sandbox(server)
        let fill = "i=0; while head -c 2097152 /dev/zero > f$i; do i=$((i+1)); sleep 0.05; done; echo unreachable # 2097152"
        let (filled, slowest) = try await exec(server, box.id, fill, timeoutMS: 60_000)
        #expect(filled["signal"] == "SIGKILL", "\(filled)")
        #expect(filled["stdout"] == "")
        #expect(filled["stderr"]?.stringValue?.contains("passed its bound of 16 MiB and 2000 entries") == true)
        #expect(filled["duration_ms"]?.intValue ?? .max < 30_000)
        let (held, _) = try await exec(server, box.id, "du -sk . | cut -f1")
        let kilobytes = Int(held["stdout"]?.stringValue?.filter(\.isNumber) ?? "") ?? 0
        #expect(kilobytes > 16 << 10 && kilobytes < 48 << 10, "\(kilobytes) KiB left: one interval's writes past the bound at most")

        let (again, _) = try await exec(server, box.id, "head -c 1024 /dev/zero > more && echo wrote; du -k more | cut -f1", timeoutMS: 30_000)
        #expect(again["stdout"] == "0\n", "a directory past its bound takes nothing more: \(again)")
        let (removed, _) = try await exec(server, box.id, "rm -f f* more; du -sk . | cut -f1")
        #expect((Int(removed["stdout"]?.stringValue?.filter(\.isNumber) ?? "") ?? .max) < 1024, "\(removed)")
        #expect(removed["stderr"]?.stringValue?.contains("passed its bound") == false)
        try await contained(server, slowest, marker: "2097152")
        await stop(server)
    }

    @Test func aFloodOfEmptyFiles() async throws {
        let server = try await start()
        let box = try await sandbox(server)
        let (flood, slowest) = try await exec(server, box.id, "mkdir d && cd d && i=0; while touch a$i b$i c$i d$i; do i=$((i+1)); done # flood",
                                               timeoutMS: 60_000)
        #expect(flood["signal"] == "SIGKILL", "\(flood)")
        #expect(flood["stderr"]?.stringValue?.contains("2000 entries") == true)
        let (counted, _) = try await exec(server, box.id, "ls d | wc -l")
        let entries = Int(counted["stdout"]?.stringValue?.filter(\.isNumber) ?? "") ?? 0
        #expect(entries >= 2_000 && entries < 20_000, "\(entries) entries")
        try await contained(server, slowest, marker: "flood")
        await stop(server)
    }

    @Test func aProcessReadingAnotherSandboxsDirectory() async throws {
        let server = try await start()
        let first = try await sandbox(server)
        let second = try await sandbox(server)
        _ = try await exec(server, first.id, "echo the-secret > secret")
        let (answer, slowest) = try await exec(server, second.id, "cat ../\(first.id)/secret; ls ..")
        #expect(answer["stdout"]?.stringValue?.contains("the-secret") == false)
        #expect(answer["stdout"]?.stringValue?.contains(first.id) == false, "the other sandbox's directory is not even listed: \(answer)")
        try await contained(server, slowest, marker: "the-secret")
        await stop(server)
    }
}
