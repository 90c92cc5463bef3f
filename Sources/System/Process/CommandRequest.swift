/// One command to start in a sandbox: what, where, as whom, and under which limits.
public struct CommandRequest: Sendable {
    /// The program and its arguments; a program without `/` is looked up in the environment's
    /// `PATH` (or ``defaultPath``).
    public var argv: [String]
    /// The command's whole environment: nothing of the server's is passed on.
    public var environment: [String: String]
    /// The sandbox's private directory (created beforehand): the working directory.
    public var directory: String
    public var limits: ProcessLimits
    /// The uid (and gid, the same number) the command runs as (inside its user namespace when
    /// ``Isolation/identity`` is `userNamespace`); `nil` keeps the server's.
    public var user: UInt32?
    public var isolation: Isolation
    /// The sandbox's control group, which the command joins before it starts (nil: none).
    public var cgroup: SandboxCgroup?

    public init(argv: [String], environment: [String: String] = [:], directory: String,
                limits: ProcessLimits, user: UInt32? = nil, isolation: Isolation = .minimal, cgroup: SandboxCgroup? = nil) {
        self.cgroup = cgroup
        self.argv = argv
        self.environment = environment
        self.directory = directory
        self.limits = limits
        self.user = user
        self.isolation = isolation
    }

    /// Where a program is looked up when the environment names no `PATH`.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The paths `execve` tries, in order.
    var candidates: [String] {
        guard let program = argv.first else { return [] }
        if program.contains("/") { return [program] }
        let path = environment["PATH"] ?? Self.defaultPath
        return path.split(separator: ":", omittingEmptySubsequences: false).map { directory in
            directory.isEmpty ? program : "\(directory)/\(program)"
        }
    }

    /// Where the command's new root is built: the directory that holds the sandboxes'
    /// directories (a tmpfs covers it in the command's mount namespace only, hiding the others).
    var staging: String {
        let parent = directory.split(separator: "/").dropLast().joined(separator: "/")
        return "/" + parent
    }
}
