import TroupeCore
import TroupeSystem

/// What one attempt of a `sandbox` step came to, from how its command ended: exit 0 succeeds
/// with the output below; any other end is a failure whose `error` tells the exit code or
/// signal, whether the timeout stopped it, and the tail of stderr.
///
/// The step's output keeps at most ``outputBytes`` of stdout and ``stderrTailBytes`` of the end
/// of stderr: the run's snapshot carries it on every later write, where the exec route answers
/// the whole capped output once.
enum SandboxStepOutcome: Sendable, Equatable {
    case succeeded(JSON)
    case failed(code: String, message: String, details: JSONObject)

    static let outputBytes = 65_536
    static let stderrTailBytes = 4_096

    init(_ outcome: CommandOutcome, program: String, timeoutMS: Int) {
        let stderrTail = String(decoding: outcome.stderr.suffix(Self.stderrTailBytes), as: UTF8.self)
        let duration = JSON.int(SandboxExec.milliseconds(outcome.duration))
        if outcome.exitCode == 0, !outcome.timedOut, outcome.failure == nil {
            let stdout = outcome.stdout.prefix(Self.outputBytes)
            self = .succeeded(.object(JSONObject([
                ("exit_code", .int(0)), ("stdout", .string(String(decoding: stdout, as: UTF8.self))), ("stderr", .string(stderrTail)),
                ("truncated", .bool(outcome.truncated || stdout.count < outcome.stdout.count)), ("duration_ms", duration),
            ])))
            return
        }
        let details = JSONObject([
            ("exit_code", outcome.exitCode.map { .int(Int64($0)) } ?? .null),
            ("signal", outcome.signal.map { .string(SandboxExec.signalName($0)) } ?? .null),
            ("timed_out", .bool(outcome.timedOut)), ("stderr_tail", .string(stderrTail)), ("duration_ms", duration),
        ])
        let lastLine = stderrTail.split(whereSeparator: \.isNewline).last.map { ": " + $0.prefix(200) } ?? "."
        if let failure = outcome.failure {
            self = .failed(code: "sandbox_exec_failed", message: "\(program) could not start: \(failure).", details: details)
        } else if outcome.timedOut {
            self = .failed(code: "sandbox_timeout", message: "\(program) ran past its timeout of \(timeoutMS) ms and was killed\(lastLine)",
                           details: details)
        } else if let signal = outcome.signal {
            let hint = signal == 9 || signal == 24 ? " (its memory or CPU-time limit?)" : ""
            self = .failed(code: "sandbox_signal", message: "\(program) was ended by \(SandboxExec.signalName(signal))\(hint)\(lastLine)",
                           details: details)
        } else {
            self = .failed(code: "sandbox_exit", message: "\(program) exited with code \(outcome.exitCode ?? -1)\(lastLine)", details: details)
        }
    }
}
