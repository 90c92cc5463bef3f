import Foundation
import Glibc
import TroupeCore

/// A `troupe serve` child process on a temporary database, for benchmarks that measure the
/// server's own memory.
final class BenchServerProcess: Sendable {
    let process: Process
    private let directory: String

    init(binary: String, port: Int, config: String) throws {
        directory = NSTemporaryDirectory() + "troupe-bench-serve-" + RandomID.make(prefix: "b")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try config.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", String(port), "--db", directory + "/troupe.db", "--config", directory + "/config.json"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<200 {
            if Self.answers(port: port) { return }
            usleep(50_000)
        }
        stop()
        throw BenchTarget.Failure(description: "\(binary) serve did not answer on port \(port)")
    }

    /// The server's resident memory (`VmRSS`).
    func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { throw BenchTarget.Failure(description: "no VmRSS in /proc/\(process.processIdentifier)/status") }
        return kib * 1024
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func answers(port: Int) -> Bool {
        guard let fd = BenchStream.connectLoopback(port: port) else { return false }
        Glibc.close(fd)
        return true
    }
}

extension Thread {
    /// Runs blocking `work` on a new thread (off Swift's cooperative pool) and awaits its result.
    static func detachedResult<T: Sendable>(_ work: @escaping @Sendable () -> T) -> Task<T, Never> {
        Task {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: work()) }
            }
        }
    }
}
