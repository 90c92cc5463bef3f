import CSystem
import Glibc

/// The two ends of a pipe, both close-on-exec (the launcher moves the child's end into place).
public struct PipeEnds: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() throws(SystemCallError) {
        var ends: [Int32] = [-1, -1]
        try syscallOrThrow("pipe2") { troupe_pipe(&ends, O_CLOEXEC) }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    /// Makes `fd` non-blocking, for waiting on it through an ``EventLoop``.
    public static func setNonBlocking(_ fd: Int32) throws(SystemCallError) {
        let flags = try syscallOrThrow("fcntl") { fcntl(fd, F_GETFL) }
        try syscallOrThrow("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }
}
