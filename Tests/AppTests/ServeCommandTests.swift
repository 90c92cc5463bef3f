import Foundation
import Testing
import TroupeCore
import TroupeTransport

/// The real `troupe` binary: bootstrap, serve, SIGTERM, and limits that survive a restart.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeCommandTests {
    @Test func limitsSurviveARestartAndSIGTERMExitsCleanly() async throws {
        let directory = NSTemporaryDirectory() + "troupe-serve-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/troupe.db"
        let config = directory + "/config.json"
        try Data(#"{"password_iterations": 1000, "plans": {"starter": {"requests_per_minute": 5}}}"#.utf8)
            .write(to: URL(fileURLWithPath: config))

        let (bootstrap, bootstrapOut) = try TroupeProcess.launch(["bootstrap", "--db", db, "--config", config, "--email", "ops@example.com",
                                                    "--password", "correct horse battery", "--workspace", "Ops"])
        let made = await TroupeProcess.line(from: bootstrapOut, prefix: "{")
        #expect(await TroupeProcess.waitForExit(bootstrap) == 0)
        let key = try #require(made.flatMap { try? JSON.parse($0) }?["api_key"]?.stringValue)

        let client = HTTPClient()
        var statuses: [Int] = []
        for round in 0..<2 {
            let (server, out) = try TroupeProcess.launch(["serve", "--port", "0", "--db", db, "--config", config])
            let listening = try #require(await TroupeProcess.line(from: out, prefix: "troupe listening on http://127.0.0.1:"))
            let port = try #require(Int(listening.split(separator: ":").last ?? ""))
            for _ in 0..<(round == 0 ? 5 : 1) {
                let reply = try await client.send(HTTPClientRequest(port: port, target: "/v1/auth/me",
                                                                    headers: ["Authorization": "Bearer \(key)"]))
                statuses.append(reply.status)
            }
            server.terminate()  // SIGTERM
            #expect(await TroupeProcess.waitForExit(server) == 0)
        }
        // Five admitted, then the restarted server still refuses the sixth within the minute.
        #expect(statuses == [200, 200, 200, 200, 200, 429])
    }

    @Test func badConfigStopsTheStartNamingTheKey() async throws {
        let directory = NSTemporaryDirectory() + "troupe-serve-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/config.json"
        try Data(#"{"durabilty": "full"}"#.utf8).write(to: URL(fileURLWithPath: config))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TroupeProcess.binary)
        process.arguments = ["serve", "--port", "0", "--db", directory + "/t.db", "--config", config]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let status = await TroupeProcess.waitForExit(process)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status == 2)
        #expect(message.contains("durabilty"))
    }
}
