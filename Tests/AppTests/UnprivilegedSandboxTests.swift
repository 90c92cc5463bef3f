import Foundation
import Glibc
import Testing
import TroupeCore
import TroupeTestSupport
import TroupeTransport

/// The server run by an ordinary user (as on a laptop), started here as `nobody` through
/// `setpriv`: sandboxes get no uid of their own and no namespaces, say so in `isolation`, and
/// still have their directory, rlimits and process group, every process of a command killed
/// when it ends.
@Suite(.serialized) struct UnprivilegedSandboxTests {
    private static let nobody: UInt32 = 65_534

    private func send(_ port: Int, _ method: String, _ target: String, token: String?, json: String = "") async throws -> (Int, JSON) {
        try await TroupeProcess.send(port, method, target, token: token, json: json)
    }

    @Test func anOrdinaryUsersServerReportsTheWeakerIsolationAndStillContainsCommands() async throws {
        // Only root can become another user; an ordinary user's run of the suite is this case already.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let directory = NSTemporaryDirectory() + "troupe-unprivileged-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/config.json"
        try Data(#"""
            {"signup": true, "sandbox_exec": true, "sandbox_root": "\#(directory)/sandboxes", "password_iterations": 1000,
             "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null}}}
            """#.utf8).write(to: URL(fileURLWithPath: config))
        // Readable by nobody whatever the umask (an in-process server of another suite sets 077).
        chmod(directory, 0o777)
        chmod(config, 0o644)
        let (server, port) = try await TroupeProcess.serve(db: directory + "/troupe.db", config: config, user: Self.nobody)
        defer { server.terminate() }
        let (_, account) = try await send(port, "POST", "/v1/auth/signup", token: nil,
                                          json: #"{"email":"laptop@example.com","password":"correct horse battery","workspace_name":"Laptop"}"#)
        let token = try #require(account["token"]?.stringValue)
        let (_, created) = try await send(port, "POST", "/v1/sandboxes", token: token, json: "{}")
        let id = try #require(created["id"]?.stringValue)
        #expect(created["isolation"] == ["directory", "rlimits", "process_group"], "no uid of its own, no namespaces: and it says so")
        var current = created
        for _ in 0..<200 where current["status"] != "ready" {
            try await Task.sleep(for: .milliseconds(10))
            current = try await send(port, "GET", "/v1/sandboxes/\(id)", token: token).1
        }

        let whoami = try await send(port, "POST", "/v1/sandboxes/\(id)/exec", token: token, json: #"{"argv":["sh","-c","id -u; pwd"]}"#).1
        #expect(whoami["stdout"] == .string("\(Self.nobody)\n\(directory)/sandboxes/\(id)\n"), "the server's own uid, in the sandbox's directory")

        let marker = "3599.\(Int.random(in: 100_000...999_999))"
        let left = try await send(port, "POST", "/v1/sandboxes/\(id)/exec", token: token,
                                  json: #"{"argv":["sh","-c","sleep \#(marker) & setsid sleep \#(marker) & echo started"]}"#).1
        #expect(left["stdout"] == "started\n")
        for _ in 0..<100 where !ProcessTable.pids(commandLineContaining: marker).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty, "a background child and a setsid one end with their command")

        let limited = try await send(port, "POST", "/v1/sandboxes/\(id)/exec", token: token, json: #"{"argv":["cat","/proc/self/limits"]}"#).1
        let limits = (limited["stdout"]?.stringValue ?? "").split(separator: "\n")
        func soft(_ name: String) -> String? { limits.first { $0.hasPrefix(name) }?.dropFirst(name.count).split(separator: " ").first.map(String.init) }
        #expect(soft("Max processes") == "64", "the process limit holds without root")
        #expect(soft("Max open files") == "256")
        #expect(soft("Max cpu time") == "10")
        server.terminate()
        _ = await TroupeProcess.waitForExit(server)
    }
}
