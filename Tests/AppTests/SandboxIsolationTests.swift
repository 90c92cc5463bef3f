import Foundation
import Glibc
import Testing
import TroupeCore
import TroupeTestSupport
import TroupeTransport

/// The attack of a member (or a `sandboxes:write` key) who runs a command to read the server's
/// secret, open its database, or call its API from inside, on the real binary in the three
/// ways a server can run: as root (a uid of its own per sandbox), as an ordinary user with user
/// namespaces (simulated as `nobody` through `setpriv`), and with neither (root without
/// CAP_SYS_ADMIN, as in a default container: exec is refused, unless the operator chose
/// `minimal`).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SandboxIsolationTests {
    private static let nobody: UInt32 = 65_534
    private static let secret = "troupe-test-secret-" + RandomID.make(prefix: "s") + "-0123456789"

    /// How the server is started.
    enum Mode: String, CaseIterable, Sendable {
        case root
        case userNamespace
        case neither
    }

    private final class Server: Sendable {
        let process: Process
        let port: Int
        let directory: String
        let token: String

        init(process: Process, port: Int, directory: String, token: String) {
            self.process = process
            self.port = port
            self.directory = directory
            self.token = token
        }

        func send(_ method: String, _ target: String, json: String = "") async throws -> (Int, JSON) {
            try await TroupeProcess.send(port, method, target, token: token, json: json)
        }

        func stop() async {
            process.terminate()
            _ = await TroupeProcess.waitForExit(process)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    private func start(_ mode: Mode, isolation: String = "full") async throws -> Server {
        let directory = NSTemporaryDirectory() + "troupe-isolation-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o777)  // nobody's server writes its database here
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "sandbox_exec": true, "sandbox_isolation": "\#(isolation)", "password_iterations": 1000,
             "sandbox_uid_base": \#(SandboxUIDRange.freshBase()),
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        chmod(config, 0o644)
        var launch = TroupeProcess.Launch(environment: ["TROUPE_SECRET": Self.secret])
        switch mode {
        case .root: break
        case .userNamespace: launch.user = Self.nobody
        case .neither: launch.droppedCapabilities = ["sys_admin"]
        }
        let (process, port) = try await TroupeProcess.serve(db: directory + "/troupe.db", config: config, launch: launch)
        let (status, account) = try await TroupeProcess.send(port, "POST", "/v1/auth/signup", token: nil,
                                                              json: #"{"email":"box@example.com","password":"correct horse battery","workspace_name":"Box"}"#)
        guard status == 201, let token = account["token"]?.stringValue else {
            process.terminate()
            throw TestFailure("signup: \(status) \(account)")
        }
        return Server(process: process, port: port, directory: directory, token: token)
    }

    /// A ready sandbox's id and isolation.
    private func sandbox(_ server: Server) async throws -> (id: String, isolation: [String]) {
        let (status, created) = try await server.send("POST", "/v1/sandboxes", json: "{}")
        guard status == 202, let id = created["id"]?.stringValue else { throw TestFailure("sandbox: \(status) \(created)") }
        for _ in 0..<300 {
            let (_, current) = try await server.send("GET", "/v1/sandboxes/\(id)")
            if current["status"] == "ready" { return (id, current["isolation"]?.arrayValue?.compactMap(\.stringValue) ?? []) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("sandbox \(id) never became ready")
    }

    private func exec(_ server: Server, _ id: String, _ script: String) async throws -> (Int, JSON) {
        let body = JSON.object(JSONObject([("argv", .array(["bash", "-c", .string(script)]))]))
        return try await server.send("POST", "/v1/sandboxes/\(id)/exec", json: body.text)
    }

    static let fullModes: [Mode] = [.root, .userNamespace]

    @Test(.enabled(if: Prerequisite.met(Prerequisite.isRoot && Prerequisite.tool("/usr/bin/setpriv"))), arguments: fullModes)
    func aCommandCannotReadTheServersSecretOrDatabaseNorReachItsPort(_ mode: Mode) async throws {
        let server = try await start(mode)
        let box = try await sandbox(server)
        let expected = mode == .root ? "user" : "user_namespace"
        // A server as root makes control groups where the machine has a writable cgroupfs; as nobody it may not.
        let cgroup = mode == .root && SandboxCgroupServerTests.available ? ["cgroup"] : []
        #expect(box.isolation == ["directory", "rlimits", "process_group", expected, "pid_namespace", "mount_namespace",
                                  "network_namespace", "read_only_root"] + cgroup, "\(mode)")
        let pid = server.process.processIdentifier
        let db = server.directory + "/troupe.db"
        let script = """
            tr '\\0' '\\n' </proc/\(pid)/environ; tr '\\0' '\\n' </proc/$PPID/environ; cat /proc/\(pid)/cmdline
            head -c 16 \(db); head -c 16 \(db)-wal; ls \(server.directory)
            (exec 3<>/dev/tcp/127.0.0.1/\(server.port)) && echo REACHED-THE-API
            kill -0 \(pid) && echo SIGNALLED-THE-SERVER
            env; echo done
            """
        let (status, answer) = try await exec(server, box.id, script)
        #expect(status == 200, "\(answer)")
        let stdout = answer["stdout"]?.stringValue ?? ""
        #expect(!stdout.contains(Self.secret), "\(mode): the secret leaked: \(stdout)")
        #expect(!stdout.contains("TROUPE_SECRET"), "\(mode): \(stdout)")
        #expect(!stdout.contains("SQLite format"), "\(mode): the database was read")
        #expect(!stdout.contains("troupe.db"), "\(mode): the server's directory was listed")
        #expect(!stdout.contains("REACHED-THE-API") && !stdout.contains("SIGNALLED-THE-SERVER"), "\(mode): \(stdout)")
        #expect(stdout.hasSuffix("done\n"), "\(mode): \(answer)")
        // Nor can anything of the server's uid outside read it from /proc: it was forgotten.
        let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ").map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(!environ.contains(Self.secret), "\(mode): TROUPE_SECRET is still in the server's environment block")
        await server.stop()
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.isRoot && Prerequisite.tool("/usr/bin/setpriv"))), arguments: fullModes)
    func aCommandLeavesNothingOnDiskButItsDirectoryAndCannotWriteTheSystem(_ mode: Mode) async throws {
        let server = try await start(mode)
        let first = try await sandbox(server)
        let marker = "troupe-left-" + RandomID.make(prefix: "m")
        let (_, wrote) = try await exec(server, first.id, """
            echo kept > kept; echo tmp > /tmp/\(marker); echo shm > /dev/shm/\(marker)
            for target in /etc/\(marker) /usr/\(marker) /\(marker) /var/tmp/\(marker); do echo x > $target 2>/dev/null && echo WROTE $target; done
            echo x > ../\(marker) 2>/dev/null; echo x > \(server.directory)/\(marker) 2>/dev/null; echo done
            """)
        #expect(wrote["stdout"] == "done\n", "\(mode): \(wrote)")
        let (_, next) = try await exec(server, first.id, "cat kept; ls /tmp /dev/shm; id -u")
        let lines = (next["stdout"]?.stringValue ?? "").split(separator: "\n")
        #expect(lines.first == "kept", "\(mode): the sandbox's own directory keeps its files between execs")
        #expect(!lines.contains { $0.contains(marker) }, "\(mode): /tmp and /dev/shm are fresh for each command")
        let beside = ["\(server.directory)/troupe-sandboxes/\(marker)", "\(server.directory)/\(marker)"]
        for path in ["/tmp/\(marker)", "/dev/shm/\(marker)", "/etc/\(marker)", "/\(marker)"] + beside {
            #expect(!FileManager.default.fileExists(atPath: path), "\(mode): \(path) reached the host")
        }
        // Another sandbox of the workspace sees nothing of the first's directory.
        let second = try await sandbox(server)
        let (_, peek) = try await exec(server, second.id, "cat ../\(first.id)/kept; ls ..")
        #expect(peek["stdout"]?.stringValue?.contains("kept") == false)
        #expect(peek["stdout"]?.stringValue?.contains(first.id) == false, "\(mode): \(peek)")
        await server.stop()
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.isRoot && Prerequisite.tool("/usr/bin/setpriv"))))
    func withoutRootOrNamespacesExecIsRefusedNamingWhatIsMissing() async throws {
        let server = try await start(.neither)
        let box = try await sandbox(server)
        let (status, refused) = try await exec(server, box.id, "cat /proc/1/environ")
        #expect(status == 403)
        #expect(refused["error"]?["code"] == "forbidden")
        let message = refused["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("may not create namespaces") && message.contains("CAP_SYS_ADMIN") && message.contains("minimal"), "\(message)")
        let (workflowStatus, _) = try await server.send("POST", "/v1/workflows", json: #"""
            {"slug":"build","name":"Build","steps":[{"id":"sh","kind":"sandbox","argv":["true"],"max_attempts":1}]}
            """#)
        #expect(workflowStatus == 201)
        let (runStatus, run) = try await server.send("POST", "/v1/runs", json: #"{"workflow":"build"}"#)
        #expect(runStatus == 201)
        let runID = try #require(run["id"]?.stringValue)
        var current = run
        for _ in 0..<300 where current["status"] != "failed" {
            try await Task.sleep(for: .milliseconds(10))
            current = try await server.send("GET", "/v1/runs/\(runID)").1
        }
        #expect(current["status"] == "failed")
        #expect(current["steps"]?.arrayValue?.first?["error"]?["code"] == "forbidden", "a sandbox step is refused too: \(current)")
        await server.stop()

        // The operator's explicit choice: commands run, and the sandbox says how little holds them.
        let minimal = try await start(.neither, isolation: "minimal")
        let weak = try await sandbox(minimal)
        #expect(weak.isolation == ["directory", "rlimits", "process_group", "user"] + (SandboxCgroupServerTests.available ? ["cgroup"] : []))
        let (ran, answer) = try await exec(minimal, weak.id, "echo ran")
        #expect(ran == 200)
        #expect(answer["stdout"] == "ran\n")
        await minimal.stop()
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.isRoot && Prerequisite.tool("/usr/bin/setpriv"))))
    func anOrdinaryUsersSandboxStillEndsEveryProcessAndHoldsItsLimits() async throws {
        let server = try await start(.userNamespace)
        let box = try await sandbox(server)
        let (_, whoami) = try await exec(server, box.id, "id -u; pwd")
        let lines = (whoami["stdout"]?.stringValue ?? "").split(separator: "\n")
        #expect(lines.first != "\(Self.nobody)" && lines.first != "0", "a uid of its own inside its namespace: \(whoami)")
        #expect(lines.last == "\(server.directory)/troupe-sandboxes/\(box.id)"[...], "by default beside the database")

        let marker = "3599.\(Int.random(in: 100_000...999_999))"
        let (_, left) = try await exec(server, box.id, "sleep \(marker) & setsid sleep \(marker) & echo started")
        #expect(left["stdout"] == "started\n")
        for _ in 0..<100 where !ProcessTable.pids(commandLineContaining: marker).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty, "a background child and a setsid one end with their command")

        let (_, limited) = try await exec(server, box.id, "cat /proc/self/limits")
        let limits = (limited["stdout"]?.stringValue ?? "").split(separator: "\n")
        func soft(_ name: String) -> String? { limits.first { $0.hasPrefix(name) }?.dropFirst(name.count).split(separator: " ").first.map(String.init) }
        #expect(soft("Max processes") == "32", "512 MiB among processes of 16 MiB each")
        #expect(soft("Max address space") == "\(16 << 20)")
        #expect(soft("Max open files") == "256")
        #expect(soft("Max cpu time") == "10")
        await server.stop()
    }
}
