import Foundation
import TroupeCore
import TroupeTestSupport
import TroupeTransport

/// The real `troupe` binary, built by `swift test` next to the test bundle (the test target
/// depends on it), run as a child process. Blocking reads and waits stay off the cooperative pool.
enum TroupeProcess {
    static var binary: String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("troupe").path
    }

    /// How to start the binary: as uid and gid `user` and without the capabilities named in
    /// `droppedCapabilities` (through `setpriv`), at `niceness` (through `nice`, when the test may
    /// raise priority: root), with `environment` added to the test's own.
    struct Launch {
        var user: UInt32?
        var droppedCapabilities: [String] = []
        var niceness: Int32?
        var environment: [String: String] = [:]
    }

    /// Starts `troupe` with `arguments` as `launch` says; returns the process and its stdout
    /// pipe. Its stderr goes to `stderr` (a pipe or file handle) when given.
    static func launch(_ arguments: [String], stderr: Any? = FileHandle.nullDevice, launch: Launch = Launch()) throws -> (Process, Pipe) {
        _ = EgressProxy.shared  // sets the environment once, before this launch reads it (runPythonBlocking says why)
        let process = Process()
        var wrapper: [String] = []
        if let user = launch.user { wrapper += ["--reuid=\(user)", "--regid=\(user)", "--clear-groups"] }
        if !launch.droppedCapabilities.isEmpty {
            let dropped = launch.droppedCapabilities.map { "-" + $0 }.joined(separator: ",")
            wrapper += ["--bounding-set=\(dropped)", "--inh-caps=\(dropped)"]
        }
        var command = wrapper.isEmpty ? [binary] + arguments : ["/usr/bin/setpriv"] + wrapper + ["--", binary] + arguments
        if let niceness = launch.niceness, niceness >= 0 || geteuid() == 0 {
            command = ["/usr/bin/nice", "-n", String(niceness)] + command
        }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !launch.environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(launch.environment) { $1 }
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = stderr
        try process.run()
        return (process, out)
    }

    /// Reads stdout lines until one has `prefix`; nil when the output ends first.
    static func line(from pipe: Pipe, prefix: String) async -> String? {
        await BlockingCall.run { () -> String? in
            var buffer = ""
            while true {
                let data = pipe.fileHandleForReading.availableData
                if data.isEmpty { return nil }
                buffer += String(decoding: data, as: UTF8.self)
                if let found = buffer.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(found) }
            }
        }
    }

    /// `troupe serve` on a free port; returns the process and the port it listens on. Its
    /// stderr is kept: when it does not say where it listens, the error shows what it said.
    static func serve(db: String, config: String, launch: Launch = Launch()) async throws -> (Process, Int) {
        let errors = db + ".stderr-\(RandomID.make(prefix: "e"))"
        guard FileManager.default.createFile(atPath: errors, contents: nil) else { throw TestFailure("cannot create \(errors)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        defer { try? handle.close() }
        let (server, out) = try self.launch(["serve", "--port", "0", "--db", db, "--config", config], stderr: handle, launch: launch)
        guard let listening = await line(from: out, prefix: "troupe listening on http://127.0.0.1:"),
            let port = Int(listening.split(separator: ":").last ?? "")
        else {
            server.terminate()
            let said = FileManager.default.contents(atPath: errors).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw TestFailure("troupe serve did not say where it listens; its stderr: \(said.suffix(4000))")
        }
        return (server, port)
    }

    static func waitForExit(_ process: Process) async -> Int32 {
        await BlockingCall.run {
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    private static let client = HTTPClient()

    /// A JSON request to a child process's port: its status and its body as JSON (null if none).
    static func send(_ port: Int, _ method: String, _ target: String, token: String?, json: String = "") async throws -> (Int, JSON) {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.set("Authorization", "Bearer \(token)") }
        let reply = try await client.send(HTTPClientRequest(method: method, port: port, target: target, headers: headers, body: Array(json.utf8)))
        return (reply.status, (try? JSON.parse(reply.body)) ?? .null)
    }
}
