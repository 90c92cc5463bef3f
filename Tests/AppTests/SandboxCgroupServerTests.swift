import Foundation
import Glibc
import Testing
import TroupeCore
import TroupeSystem
import TroupeTestSupport

@testable import TroupeApp

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

    /// The directories of sandbox `id`'s group (present or not) of a server on `directory`.
    private func groupDirectories(_ directory: String, _ id: String) throws -> [String] {
        let tag = TroupeServer.sandboxCgroupTag(root: directory + "/sandboxes")
        return try SandboxCgroups.probe(tag: tag).get().group(named: id).directories
    }

    private func present(_ directories: [String]) -> Bool { directories.contains { FileManager.default.fileExists(atPath: $0) } }

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

        let hold = "python3 -c 'import time; held = b\"x\" * (60 << 20); time.sleep(4)'"
        let script = "for i in 1 2 3 4; do \(hold) & done; wait"
        let body = JSON.object(JSONObject([("argv", .array([.string("sh"), .string("-c"), .string(script)])), ("timeout_ms", .int(20_000))]))
        let (status, answer) = try await TroupeProcess.send(port, "POST", "/v1/sandboxes/\(box.id)/exec", token: token, json: body.text)
        #expect(status == 200, "\(answer)")
        let groups = try groupDirectories(directory, box.id)
        #expect(present(groups), "the sandbox has a group")
        let limit = groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/memory.limit_in_bytes", encoding: .utf8) }.first
            ?? groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/memory.max", encoding: .utf8) }.first
        #expect(limit?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(96 << 20)")
        // Everything the command runs is first in line for the OOM killer, the shell too once
        // the holders are gone: the group's own count says what the kernel did.
        let kills = groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/memory.oom_control", encoding: .utf8) }.first
            ?? groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/memory.events", encoding: .utf8) }.first ?? ""
        let killed = kills.split(separator: "\n").first { $0.hasPrefix("oom_kill ") }.flatMap { Int($0.dropFirst(9)) } ?? 0
        #expect(killed >= 2, "holders of 60 MiB that together passed 96 MiB were killed: \(kills) \(answer)")

        let (deleted, _) = try await TroupeProcess.send(port, "DELETE", "/v1/sandboxes/\(box.id)", token: token)
        #expect(deleted == 202)
        for _ in 0..<200 where present(groups) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!present(groups), "the group went with the sandbox")
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
        let live = try #require(try groupDirectories(directory, box.id).first)
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
