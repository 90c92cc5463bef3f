import CSystem
import Glibc

/// What the server does to itself so that a process of its own uid (a sandbox without a uid
/// of its own, or anything else the operator's user runs) cannot read its secrets.
public enum ProcessHardening {
    /// Takes `name` out of the environment and overwrites its value where it was: unsetenv(3)
    /// alone leaves the bytes in the block that /proc/<pid>/environ shows, and children
    /// inherit nothing of it afterwards.
    public static func forgetEnvironmentVariable(_ name: String) {
        if let value = getenv(name) { memset(value, 0, strlen(value)) }
        unsetenv(name)
    }

    /// Makes the process not dumpable: /proc/<pid>/environ, mem and maps belong to root, and no
    /// process of the same uid may ptrace it. Returns errno on failure, else nil.
    public static func disableDumping() -> Int32? {
        troupe_set_not_dumpable() == 0 ? nil : errno
    }
}
