import Glibc

/// A failed system call: which call, and `errno`. Sockets, event loops and child processes
/// all report their failures as this.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// What a non-blocking call came to.
public enum SyscallResult<Value> {
    case value(Value)
    /// `EAGAIN`/`EWOULDBLOCK`: try again when the fd is ready.
    case wouldBlock
}

/// Runs a system call that returns -1 and sets `errno` on failure: retries on `EINTR`, reports
/// `EAGAIN` as ``SyscallResult/wouldBlock``, and throws anything else with the call's name.
@inlinable
public func syscall<T: BinaryInteger>(_ name: StaticString, _ call: () -> T) throws(SystemCallError) -> SyscallResult<T> {
    while true {
        let result = call()
        if result >= 0 { return .value(result) }
        let error = errno
        if error == EINTR { continue }
        if error == EAGAIN || error == EWOULDBLOCK { return .wouldBlock }
        throw SystemCallError(call: name.description, errno: error)
    }
}

/// A call that cannot block (socket setup): throws on failure, retries `EINTR`.
@inlinable
@discardableResult
public func syscallOrThrow<T: BinaryInteger>(_ name: StaticString, _ call: () -> T) throws(SystemCallError) -> T {
    switch try syscall(name, call) {
    case .value(let value): return value
    case .wouldBlock: throw SystemCallError(call: name.description, errno: EAGAIN)
    }
}
