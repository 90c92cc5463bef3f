/// The `setrlimit(2)` limits a command runs under, each soft = hard; `nil` leaves one as it is.
public struct ProcessLimits: Sendable, Equatable {
    /// RLIMIT_CPU: past it the command gets SIGXCPU, then SIGKILL.
    public var cpuSeconds: Int?
    /// RLIMIT_AS: an allocation past it fails.
    public var addressSpaceBytes: Int?
    /// RLIMIT_FSIZE: a write that would grow a file past it fails (SIGXFSZ).
    public var fileSizeBytes: Int?
    /// RLIMIT_NPROC: counts every process of the command's real uid.
    public var processes: Int?
    /// RLIMIT_NOFILE.
    public var openFiles: Int?

    public init(cpuSeconds: Int? = nil, addressSpaceBytes: Int? = nil, fileSizeBytes: Int? = nil,
                processes: Int? = nil, openFiles: Int? = nil) {
        self.cpuSeconds = cpuSeconds
        self.addressSpaceBytes = addressSpaceBytes
        self.fileSizeBytes = fileSizeBytes
        self.processes = processes
        self.openFiles = openFiles
    }
}
