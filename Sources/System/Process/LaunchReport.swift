import CSystem
import Glibc

/// What the launcher reported through its pipe (see `troupe_spawn.h`).
struct LaunchReport: Sendable, Equatable {
    /// Why it never ran.
    var failure: String?
    /// Its raw wait status, and whether the launcher stopped it (SIGTERM).
    var status: Int32?
    var stopped = false

    /// Applies every whole 12-byte record in `bytes`.
    init(parsing bytes: [UInt8]) {
        let size = MemoryLayout<troupe_spawn_report>.size
        var offset = 0
        while offset + size <= bytes.count {
            let record = bytes.withUnsafeBytes { raw in
                raw.loadUnaligned(fromByteOffset: offset, as: troupe_spawn_report.self)
            }
            offset += size
            switch UInt32(bitPattern: record.kind) {
            case TROUPE_SPAWN_STARTED.rawValue:
                continue  // the command's pid: the server needs only the launcher's
            case TROUPE_SPAWN_FAILED.rawValue:
                failure = "\(Self.stageName(record.detail)) failed: \(String(cString: strerror(record.value)))"
            case TROUPE_SPAWN_EXITED.rawValue:
                status = record.value
                stopped = record.detail != 0
            default:
                continue
            }
        }
    }

    private static func stageName(_ stage: Int32) -> String {
        switch UInt32(bitPattern: stage) {
        case TROUPE_STAGE_PARENT_GONE.rawValue: return "launch (the server was gone)"
        case TROUPE_STAGE_NAMESPACES.rawValue: return "unshare"
        case TROUPE_STAGE_MOUNTS.rawValue: return "mount"
        case TROUPE_STAGE_DIRECTORY.rawValue: return "chdir"
        case TROUPE_STAGE_DESCRIPTORS.rawValue: return "dup2"
        case TROUPE_STAGE_FORK.rawValue: return "vfork"
        case TROUPE_STAGE_LIMITS.rawValue: return "setrlimit"
        case TROUPE_STAGE_IDENTITY.rawValue: return "setresuid"
        case TROUPE_STAGE_USER_MAP.rawValue: return "the user namespace's id map"
        case TROUPE_STAGE_CGROUP.rawValue: return "joining the sandbox's cgroup"
        default: return "execve"
        }
    }

    /// The exit code when the command exited (wait(2)'s WIFEXITED), else `nil`.
    static func exitCode(_ status: Int32) -> Int? { status & 0x7f == 0 ? Int((status >> 8) & 0xff) : nil }

    /// The signal that ended the command (WIFSIGNALED), else `nil`.
    static func signal(_ status: Int32) -> Int? {
        let number = status & 0x7f
        return number != 0 && number != 0x7f ? Int(exactly: number) : nil
    }
}
