import Foundation
import TroupeCore
import TroupeTransport

/// The real `troupe` binary, built by `swift test` next to the test bundle (the test target
/// depends on it), run as a child process. Blocking reads and waits stay off the cooperative pool.
enum TroupeProcess {
    static var binary: String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("troupe").path
    }

    /// Starts `troupe` with `arguments` (as uid and gid `user` when given, through `setpriv`);
    /// returns the process and its stdout pipe.
    static func launch(_ arguments: [String], stderr: Any? = FileHandle.nullDevice, user: UInt32? = nil) throws -> (Process, Pipe) {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--", binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = stderr
        try process.run()
        return (process, out)
    }

    /// Reads stdout lines until one has `prefix`; nil when the output ends first.
    static func line(from pipe: Pipe, prefix: String) async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var buffer = ""
                while true {
                    let data = pipe.fileHandleForReading.availableData
                    if data.isEmpty { return continuation.resume(returning: nil) }
                    buffer += String(decoding: data, as: UTF8.self)
                    if let found = buffer.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                        return continuation.resume(returning: String(found))
                    }
                }
            }
        }
    }

    /// `troupe serve` on a free port; returns the process and the port it listens on.
    static func serve(db: String, config: String, user: UInt32? = nil) async throws -> (Process, Int) {
        let (server, out) = try launch(["serve", "--port", "0", "--db", db, "--config", config], user: user)
        guard let listening = await line(from: out, prefix: "troupe listening on http://127.0.0.1:"),
            let port = Int(listening.split(separator: ":").last ?? "")
        else { throw TestFailure("troupe serve did not say where it listens") }
        return (server, port)
    }

    static func waitForExit(_ process: Process) async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }
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
