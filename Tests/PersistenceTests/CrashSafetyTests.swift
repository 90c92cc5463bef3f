import Foundation
import Testing

@testable import TroupePersistence

/// "A 2xx means durable", checked against the real process: `troupe-bench crash-writer` prints
/// each id only after the group-commit writer acknowledged it; the test `kill -9`s it at a random
/// moment and requires every printed id to be in the reopened database.
@Suite(.timeLimit(.minutes(5)))
struct CrashSafetyTests {
    /// `troupe-bench`, built by `swift test` next to the test bundle (the test target depends on it).
    private static var benchBinary: String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent().appendingPathComponent("troupe-bench").path
    }

    @Test func everyAcknowledgedWriteSurvivesKillNine() async throws {
        let binary = Self.benchBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "\(binary) was not built")
        var generator = SystemRandomNumberGenerator()
        var totalAcknowledged = 0
        for iteration in 0..<20 {
            let directory = try TemporaryDirectory()
            let acknowledged = try await runAndKill(
                binary: binary, directory: directory,
                afterFirstAck: .milliseconds(Int.random(in: 20...400, using: &generator)))
            #expect(!acknowledged.isEmpty, "iteration \(iteration) acknowledged nothing before the kill")
            totalAcknowledged += acknowledged.count

            let db = try Database(path: directory.file())
            let stored = Set(try db.query("SELECT id FROM acks") { $0.int64(at: 0) })
            let lost = acknowledged.subtracting(stored)
            #expect(lost.isEmpty, "iteration \(iteration): \(lost.count) acknowledged ids lost, e.g. \(Array(lost.sorted().prefix(5)))")
            #expect(try db.integrityCheck() == ["ok"], "iteration \(iteration)")
            db.close()
        }
        #expect(totalAcknowledged > 100)
    }

    /// Starts the writer, waits for its first acknowledgement, lets it run `afterFirstAck`,
    /// kills it with SIGKILL, and returns every id it printed on a complete line.
    private func runAndKill(
        binary: String, directory: borrowing TemporaryDirectory, afterFirstAck: Duration
    ) async throws -> Set<Int64> {
        let outputPath = directory.file("acks.txt")
        try #require(FileManager.default.createFile(atPath: outputPath, contents: nil))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["crash-writer", "--db", directory.file(), "--writers", "16", "--seconds", "20"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()

        let startDeadline = ContinuousClock.now + .seconds(15)
        while (try? Data(contentsOf: URL(fileURLWithPath: outputPath)).isEmpty) != false,
            ContinuousClock.now < startDeadline, process.isRunning
        {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: afterFirstAck)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the writer was still running when killed")

        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: outputPath)), as: UTF8.self)
        // Only complete lines count as acknowledged (a line is written with one write(2)).
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        return Set(lines.compactMap { Int64($0) })
    }
}
