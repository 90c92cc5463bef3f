import CSystem
import Glibc

/// How commands are confined beyond their directory, limits and process group: found once at
/// start from what this process and kernel allow, and reported (never assumed).
public struct Isolation: Sendable, Equatable {
    /// Whose uid a command runs as.
    public enum Identity: Sendable, Equatable {
        /// The server's own (no isolation of identity at all).
        case server
        /// A uid and gid of the sandbox's own (the server runs as root).
        case own
        /// A uid of the sandbox's own inside a user namespace of its own, mapped to the
        /// server's uid outside it (no root needed); only the namespaces keep it from the
        /// server's files and processes.
        case userNamespace
    }

    public var identity: Identity
    /// Each command is pid 1 of a pid namespace (its /proc shows only its own), has no network
    /// (a network namespace with no interface up), and a mount namespace whose root is built
    /// afresh: the system's directories read-only, fresh /tmp and /dev/shm, and the sandbox's
    /// own directory the only writable place on disk.
    public var namespaces: Bool
    /// The system paths bound read-only into a command's root when ``namespaces`` is on.
    public var readOnlyPaths: [String]
    /// What keeps full isolation from this server, when it does: exec and sandbox steps are
    /// refused (403) unless the operator chose `minimal`.
    public var missing: String?

    public init(identity: Identity, namespaces: Bool, readOnlyPaths: [String] = Isolation.systemPaths, missing: String? = nil) {
        self.identity = identity
        self.namespaces = namespaces
        self.readOnlyPaths = readOnlyPaths
        self.missing = missing
    }

    /// None beyond the directory, limits and process group.
    public static let minimal = Isolation(identity: .server, namespaces: false, readOnlyPaths: [],
                                          missing: "isolation is minimal")

    /// What a command's root holds of the host, read-only: programs, libraries and /etc.
    public static let systemPaths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]

    /// The strongest isolation this process may use: as root, a uid of its own and namespaces;
    /// without root, a user namespace with the namespaces inside it; else minimal, naming what
    /// is missing. Probed once per process (the probe forks and unshares, and neither answer
    /// changes while the process lives), on the first call.
    public static func probe() -> Isolation { probed }

    private static let probed: Isolation = {
        let flags = Int32(TROUPE_NAMESPACES)
        if geteuid() == 0 {
            let error = troupe_probe_namespaces(flags, 0)
            if error == 0 { return Isolation(identity: .own, namespaces: true) }
            return Isolation(identity: .own, namespaces: false, readOnlyPaths: [],
                             missing: "the server runs as root but may not create namespaces (\(String(cString: strerror(error))): "
                                 + "a container without CAP_SYS_ADMIN?), so commands would share its network and see its processes")
        }
        let error = troupe_probe_namespaces(flags, 1)
        if error == 0 { return Isolation(identity: .userNamespace, namespaces: true) }
        return Isolation(identity: .server, namespaces: false, readOnlyPaths: [],
                         missing: "the server is not root and may not create user namespaces (\(String(cString: strerror(error)))), "
                             + "so commands would run as its own user, beside its secret and database")
    }()

    /// What is in force, by name: always `directory`, `rlimits` and `process_group`; then `user`
    /// (a uid of its own) or `user_namespace`, and `pid_namespace`, `mount_namespace`,
    /// `network_namespace` and `read_only_root` when they are.
    public var names: [String] {
        var names = ["directory", "rlimits", "process_group"]
        switch identity {
        case .server: break
        case .own: names.append("user")
        case .userNamespace: names.append("user_namespace")
        }
        if namespaces { names += ["pid_namespace", "mount_namespace", "network_namespace", "read_only_root"] }
        return names
    }

    var cloneFlags: Int32 { namespaces ? Int32(TROUPE_NAMESPACES) : 0 }
}
