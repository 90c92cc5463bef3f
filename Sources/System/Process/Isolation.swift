import CSystem
import Glibc

/// How commands are confined beyond their directory, limits and process group: found once at
/// start from what this process and kernel allow, and reported (never assumed).
public struct Isolation: Sendable, Equatable {
    /// Each sandbox's commands run as a uid and gid of its own (the server runs as root).
    public var ownUser: Bool
    /// Each command is pid 1 of a pid namespace (its /proc shows only its own), has a mount
    /// namespace with a private /tmp, /var/tmp and /dev/shm, and a network namespace with no
    /// interface up.
    public var namespaces: Bool
    /// The paths that get a fresh tmpfs when ``namespaces`` is on (those that exist here).
    public var privateMounts: [String]

    public init(ownUser: Bool, namespaces: Bool, privateMounts: [String] = []) {
        self.ownUser = ownUser
        self.namespaces = namespaces
        self.privateMounts = privateMounts
    }

    /// None beyond the directory, limits and process group.
    public static let minimal = Isolation(ownUser: false, namespaces: false)

    /// The strongest isolation this process may use: a uid of its own when running as root,
    /// namespaces when the kernel lets this process unshare them. Probed once per process (the
    /// probe forks and unshares, and neither answer changes while the process lives), on the
    /// first call: a runtime or server opened after that pays nothing for it.
    public static func probe() -> Isolation { probed }

    private static let probed: Isolation = {
        let root = geteuid() == 0
        let flags = Int32(TROUPE_NAMESPACES)
        let namespaces = root && troupe_probe_namespaces(flags) == 0
        let mounts = ["/tmp", "/var/tmp", "/dev/shm"].filter { path in
            var status = stat()
            return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
        }
        return Isolation(ownUser: root, namespaces: namespaces, privateMounts: namespaces ? mounts : [])
    }()

    /// What is in force, by name: always `directory`, `rlimits` and `process_group`; then `user`,
    /// `pid_namespace`, `mount_namespace` and `network_namespace` when they are.
    public var names: [String] {
        var names = ["directory", "rlimits", "process_group"]
        if ownUser { names.append("user") }
        if namespaces { names += ["pid_namespace", "mount_namespace", "network_namespace"] }
        return names
    }

    var cloneFlags: Int32 { namespaces ? Int32(TROUPE_NAMESPACES) : 0 }
}
