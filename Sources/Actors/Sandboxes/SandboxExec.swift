import Glibc
import TroupeCore

/// One exec request (API.md: `{argv, stdin?, env?, timeout_ms?}`), checked where it is parsed.
public struct SandboxExec: Sendable, Equatable {
    public var argv: [String]
    public var stdin: [UInt8]
    public var environment: [String: String]
    /// At most the sandbox's `wall_timeout_ms`, which is also the default.
    public var timeoutMS: Int?

    public static let maxArguments = 256
    public static let maxArgumentBytes = 4096
    public static let maxVariables = 256

    public init(argv: [String], stdin: [UInt8] = [], environment: [String: String] = [:], timeoutMS: Int? = nil) {
        self.argv = argv
        self.stdin = stdin
        self.environment = environment
        self.timeoutMS = timeoutMS
    }

    /// The problems `(field, message)` with `argv` (at `path`): empty, too many or too long
    /// arguments, or a NUL byte, which C would cut the argument at.
    public static func argvProblems(_ argv: [String], at path: String = "argv") -> [(String, String)] {
        if argv.isEmpty { return [(path, "argv must name the program to run.")] }
        if argv.count > maxArguments || argv.contains(where: { $0.utf8.count > maxArgumentBytes }) {
            return [(path, "argv holds at most \(maxArguments) arguments of at most \(maxArgumentBytes) bytes each.")]
        }
        if argv.contains(where: { $0.utf8.contains(0) }) { return [(path, "argv must not hold NUL characters.")] }
        return []
    }

    /// The problems with an environment: names `[A-Za-z_][A-Za-z0-9_]*`, no NUL in values.
    public static func environmentProblems(_ environment: [String: String], at path: String = "env") -> [(String, String)] {
        if environment.count > maxVariables { return [(path, "env holds at most \(maxVariables) variables.")] }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(name.utf8)
            let valid = !bytes.isEmpty && !(bytes[0] >= 0x30 && bytes[0] <= 0x39)
                && bytes.allSatisfy { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
            if !valid { return [("\(path).\(name)", "env names must match [A-Za-z_][A-Za-z0-9_]*.")] }
            if value.utf8.contains(0) || value.utf8.count > maxArgumentBytes {
                return [("\(path).\(name)", "env values must be at most \(maxArgumentBytes) bytes, with no NUL characters.")]
            }
        }
        return []
    }

    /// The longest `note` of a `sandbox.exec` audit entry, in characters.
    public static let auditNoteLength = 256

    /// What ran, for the `sandbox.exec` audit entry: the argv as a JSON array, cut at
    /// ``auditNoteLength`` characters (a cut note ends with `…`).
    public static func auditNote(_ argv: [String]) -> String {
        let text = JSON.array(argv.map(JSON.string)).text
        guard text.count > auditNoteLength else { return text }
        return String(text.prefix(auditNoteLength - 1)) + "…"
    }

    /// `SIGKILL` for 9: the name API answers give for the signal that ended a command.
    public static func signalName(_ number: Int) -> String {
        let names = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
                     9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
                     24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS"]
        return names[number] ?? "SIG\(number)"
    }

    /// Whole milliseconds of `duration`.
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1000).partialValue + attoseconds / 1_000_000_000_000_000
    }
}
