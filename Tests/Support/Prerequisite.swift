import Foundation
import Glibc

/// What a test needs of the machine (root, a tool, a Python module), for `.enabled(if:)`: a
/// test whose prerequisite is missing shows as skipped, never as passed. Under `CI=true`
/// (`.ci/run` installs every tool and module these name) a prerequisite counts as met, so the
/// test runs and fails where it is missing: CI proves the tests ran. Only when `.ci/run` could
/// not reach a package registry (it says so, and names what it could not install in
/// `TROUPE_CI_MISSING`) do the tests that need it skip under CI too.
public enum Prerequisite {
    /// Whether this run is CI's (`CI=true`).
    public static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// What `.ci/run` could not install, by name (empty when it installed everything).
    public static let missingInCI = ProcessInfo.processInfo.environment["TROUPE_CI_MISSING"] ?? ""

    /// `available`, or true under CI when `.ci/run` installed everything (the test then fails
    /// where it is not).
    public static func met(_ available: @autoclosure () -> Bool) -> Bool {
        (inCI && missingInCI.isEmpty) || available()
    }

    /// The tests run as root (needed to become other users and to simulate an ordinary one).
    public static let isRoot = getuid() == 0

    /// Whether python3 can import every module of `modules`.
    public static func python(_ modules: String...) -> Bool {
        runPythonBlocking("import " + modules.joined(separator: ", ")).status == 0
    }

    /// Whether `name` is an executable on the PATH (or, with a `/`, at that path).
    public static func tool(_ name: String) -> Bool {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
