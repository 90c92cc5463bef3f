import Foundation
import TroupeTransport

/// Runs `script` with `python3 -c` (arguments after it, `input` on its standard input) and
/// returns its exit status and output, for interop tests against Python's independent
/// implementations (PyJWT, rfc8785, croniter, Selenium). Status -1 when python3 could not be
/// started. It waits on a thread of its own (``BlockingCall``): a browser test's half minute on
/// one of the cooperative pool's two threads stalled every in-process server of the suite.
public func runPython(_ script: String, arguments: [String] = [], input: [UInt8] = []) async -> (status: Int32, output: String) {
    await BlockingCall.run { runPythonBlocking(script, arguments: arguments, input: input) }
}

/// ``runPython(_:arguments:input:)`` on the calling thread: for a test trait, which cannot wait.
public func runPythonBlocking(_ script: String, arguments: [String] = [], input: [UInt8] = []) -> (status: Int32, output: String) {
    // The process's egress proxy sets its environment once (setenv): made here, on this
    // thread, before the launch reads it, not while another thread's launch copies it.
    _ = EgressProxy.shared
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    let standardInput = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = standardInput
    do { try process.run() } catch { return (-1, "\(error)") }
    let writer = Thread {
        standardInput.fileHandleForWriting.write(Data(input))
        try? standardInput.fileHandleForWriting.close()
    }
    writer.start()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
