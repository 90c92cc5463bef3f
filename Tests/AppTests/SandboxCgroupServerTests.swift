import Foundation
import Glibc
import Testing
import TroupeCore
import TroupeSystem
import TroupeTestSupport

/// `memory_mb` bounds a sandbox as a whole where the server can make control groups (root with
/// a writable cgroupfs here): on the real binary, processes that each fit but together do not
/// are stopped, and a sandbox's group goes with it — at delete, or at the next start when a
/// previous server left it.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SandboxCgroupServerTests {
    static let available = Prerequisite.isRoot && (try? SandboxCgroups.probe(tag: "tests").get()) != nil

    /// A server whose sandboxes' uids are its own (another test's restart sweeps the uids of its
    /// own sandboxes, which would be these with the default base).
    private func start(_ directory: String) async throws -> (Process, Int) {
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "sandbox_exec": true, "sandbox_root": "\#(directory)/sandboxes", "password_iterations": 1000,
             "sandbox_uid_base": \#(SandboxUIDRange.freshBase()),
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "sandboxes": 4}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        return try await TroupeProcess.serve(db: directory + "/troupe.db", config: config)
    }

    private func readySandbox(_ port: Int, _ token: String, memoryMB: Int) async throws -> (id: String, isolation: [String]) {
        let (status, created) = try await TroupeProcess.send(port, "POST", "/v1/sandboxes", token: token,
                                                             json: #"{"resource_limits":{"memory_mb":\#(memoryMB)}}"#)
        #expect(status == 202)
        let id = try #require(created["id"]?.stringValue)
        for _ in 0..<300 {
            let (_, current) = try await TroupeProcess.send(port, "GET", "/v1/sandboxes/\(id)", token: token)
            if current["status"]?.stringValue == "ready" { return (id, current["isolation"]?.arrayValue?.compactMap(\.stringValue) ?? []) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("sandbox \(id) never became ready")
    }

    /// The directories named `name` under /sys/fs/cgroup (one per hierarchy the group is in).
    private func groupDirectories(named name: String, in directory: String = "/sys/fs/cgroup", depth: Int = 0) -> [String] {
        guard depth < 8, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var found: [String] = []
        for entry in entries {
            let path = "\(directory)/\(entry)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            if entry == name { found.append(path) } else { found += groupDirectories(named: name, in: path, depth: depth + 1) }
        }
        return found
    }

    @Test(.enabled(if: Self.available)) func processesThatTogetherPassMemoryMBAreStoppedAndTheGroupGoesWithTheSandbox() async throws {
        let directory = NSTemporaryDirectory() + "troupe-cgroup-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (server, port) = try await start(directory)
        defer { server.terminate() }
        let (_, account) = try await TroupeProcess.send(port, "POST", "/v1/auth/signup", token: nil,
                                                        json: #"{"email":"cg@example.com","password":"correct horse battery","workspace_name":"Cg"}"#)
        let token = try #require(account["token"]?.stringValue)
        let box = try await readySandbox(port, token, memoryMB: 96)
        #expect(box.isolation.contains("cgroup"), "\(box.isolation)")

        let hold = "python3 -c 'import time; held = b\"x\" * (40 << 20); time.sleep(2)'"
        let script = "for i in 1 2 3 4; do \(hold) & done; failed=0; for i in 1 2 3 4; do wait %$i || failed=$((failed+1)); done; echo $failed"
        let body = JSON.object(JSONObject([("argv", .array([.string("sh"), .string("-c"), .string(script)])), ("timeout_ms", .int(20_000))]))
        let (status, answer) = try await TroupeProcess.send(port, "POST", "/v1/sandboxes/\(box.id)/exec", token: token, json: body.text)
        #expect(status == 200, "\(answer)")
        let failed = Int(answer["stdout"]?.stringValue?.filter(\.isNumber) ?? "") ?? 0
        #expect(failed >= 2, "only \(failed) of 4 holders of 40 MiB were stopped in 96 MiB: \(answer)")
        let groups = groupDirectories(named: box.id)
        #expect(!groups.isEmpty, "the sandbox has a group")
        let limit = groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/memory.limit_in_bytes", encoding: .utf8) }.first
            ?? groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/memory.max", encoding: .utf8) }.first
        #expect(limit?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(96 << 20)")

        let (deleted, _) = try await TroupeProcess.send(port, "DELETE", "/v1/sandboxes/\(box.id)", token: token)
        #expect(deleted == 202)
        for _ in 0..<200 where !groupDirectories(named: box.id).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(groupDirectories(named: box.id).isEmpty, "the group went with the sandbox")
    }

    @Test(.enabled(if: Self.available)) func aGroupAPreviousServerLeftIsSweptAtStart() async throws {
        let directory = NSTemporaryDirectory() + "troupe-cgroup-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, port) = try await start(directory)
        let (_, account) = try await TroupeProcess.send(port, "POST", "/v1/auth/signup", token: nil,
                                                        json: #"{"email":"cg@example.com","password":"correct horse battery","workspace_name":"Cg"}"#)
        let token = try #require(account["token"]?.stringValue)
        let box = try await readySandbox(port, token, memoryMB: 64)
        let body = #"{"argv":["true"]}"#
        #expect(try await TroupeProcess.send(port, "POST", "/v1/sandboxes/\(box.id)/exec", token: token, json: body).0 == 200)
        let live = try #require(groupDirectories(named: box.id).first)
        let stale = (live as NSString).deletingLastPathComponent + "/sbx_left_by_a_previous_server"
        #expect(mkdir(stale, 0o755) == 0)
        kill(first.processIdentifier, SIGKILL)
        _ = await TroupeProcess.waitForExit(first)

        let (second, secondPort) = try await start(directory)
        defer { second.terminate() }
        #expect(!FileManager.default.fileExists(atPath: stale), "the stale group was swept")
        #expect(try await TroupeProcess.send(secondPort, "POST", "/v1/sandboxes/\(box.id)/exec", token: token, json: body).0 == 200,
                "the live sandbox's group still serves")
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(try await TroupeProcess.send(secondPort, "DELETE", "/v1/sandboxes/\(box.id)", token: token).0 == 202)
        for _ in 0..<200 where FileManager.default.fileExists(atPath: live) { try await Task.sleep(for: .milliseconds(10)) }
        second.terminate()
        _ = await TroupeProcess.waitForExit(second)
        #expect(!FileManager.default.fileExists(atPath: (live as NSString).deletingLastPathComponent),
                "a server that stops with no sandbox groups left removes its own")
    }
}
