import CSystem
import Glibc
import TroupeSystem

/// Thin, non-blocking socket calls over Glibc. Every fd is opened `SOCK_NONBLOCK | SOCK_CLOEXEC`.
enum Socket {
    /// A listening TCP socket bound to `host:port` with `SO_REUSEADDR`.
    static func listen(host: String, port: Int, backlog: Int32) throws(SystemCallError) -> Int32 {
        let address = try SocketAddress(host: host, port: port)
        let fd = try syscallOrThrow("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            _ = try address.withSockAddr { pointer, length throws(SystemCallError) in
                try syscallOrThrow("bind") { bind(fd, pointer, length) }
            }
            try syscallOrThrow("listen") { Glibc.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// ``listen(host:port:backlog:)``, registered with `loop`; the socket and the port it got.
    static func listen(host: String, port: Int, backlog: Int32, registeringWith loop: EventLoop) throws(SystemCallError) -> (fd: Int32, port: Int) {
        let fd = try listen(host: host, port: port, backlog: backlog)
        do {
            let bound = try SocketAddress.boundPort(of: fd)
            try loop.register(fd)
            return (fd, bound)
        } catch {
            close(fd)
            throw error
        }
    }

    /// A non-blocking TCP socket whose connect to `host:port` is under way (or done).
    static func connect(host: String, port: Int) throws(SystemCallError) -> (fd: Int32, inProgress: Bool) {
        let address = try SocketAddress(host: host, port: port)
        let fd = try syscallOrThrow("socket") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if result == 0 { return (fd, false) }
        let error = errno
        guard error == EINPROGRESS || error == EINTR else {
            close(fd)
            throw SystemCallError(call: "connect", errno: error)
        }
        return (fd, true)
    }

    /// The error a non-blocking connect finished with (0 when it succeeded).
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length)
        return value
    }

    /// Accepts one connection, already non-blocking, with `TCP_NODELAY`.
    static func accept(_ listener: Int32) throws(SystemCallError) -> SyscallResult<Int32> {
        let result = try syscall("accept4") {
            troupe_accept4(listener, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }
        if case .value(let fd) = result { try? setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
        return result
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemCallError) {
        var value = value
        try syscallOrThrow("setsockopt") { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Reads into `buffer`: the count (0 at end of stream) or would-block.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> SyscallResult<Int> {
        try syscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes from `bytes`: how many went out, or would-block. `MSG_NOSIGNAL`: a peer that went
    /// away is an `EPIPE` error here, never a SIGPIPE that kills the process.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) -> SyscallResult<Int> {
        try syscall("send") { send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }
}
