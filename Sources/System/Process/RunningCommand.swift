import CSystem
import Glibc
import Synchronization
import TroupeCore

/// A command started through the launcher (`troupe_spawn`): its pipes and its launcher's pidfd
/// are waited on through an ``EventLoop``, never with a blocking `waitpid` on the pool.
public final class RunningCommand: Sendable {
    /// The launcher's pid, which is also the id of the process group it shares with the command
    /// (recorded for the start-up sweep).
    public let launcherID: Int32
    private let pidFD: Int32
    private let loop: EventLoop
    private let stdinFD: Int32
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private let reportFD: Int32
    private let startedAt: ContinuousClock.Instant
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        /// Once reaped, the pid may belong to another process: nothing signals it after.
        var reaped = false
        var terminating = false
        /// The server's ends not closed yet (a number closed may be another file's next).
        var open: Set<Int32> = []
    }

    /// How long the launcher has to end the command after SIGTERM before it is SIGKILLed itself.
    static let terminationGrace: Duration = .seconds(2)
    /// How long the output pipes may stay open once the launcher has ended and been reaped:
    /// every process of the command is gone then, and a pipe still open past this is held by
    /// something else (it is cut, so that an exec always answers).
    static let outputGrace: Duration = .seconds(2)

    private init(launcherID: Int32, pidFD: Int32, loop: EventLoop, fds: (Int32, Int32, Int32, Int32)) {
        self.launcherID = launcherID
        self.pidFD = pidFD
        self.loop = loop
        (stdinFD, stdoutFD, stderrFD, reportFD) = fds
        startedAt = .now
        lifecycle.withLock { $0.open = [fds.0, fds.1, fds.2, fds.3, pidFD] }
    }

    /// A pipe write to a command that is gone must be an `EPIPE` error, not the end of the server.
    private static let pipeSignalIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    /// Starts `request`. The fork runs on `loop`'s thread, which lives as long as the loop: the
    /// launcher's parent-death signal follows the thread that forked it, not the process.
    public static func start(_ request: CommandRequest, on loop: EventLoop) async throws(SystemCallError) -> RunningCommand {
        _ = pipeSignalIgnored
        let pipes = try [PipeEnds(), PipeEnds(), PipeEnds(), PipeEnds()]  // stdin, stdout, stderr, reports
        let serverEnds = [pipes[0].writeEnd, pipes[1].readEnd, pipes[2].readEnd, pipes[3].readEnd]
        let childEnds = [pipes[0].readEnd, pipes[1].writeEnd, pipes[2].writeEnd, pipes[3].writeEnd]
        let spawned = await withTaskExecutorPreference(loop) { spawn(request, childEnds: childEnds) }
        for fd in childEnds { close(fd) }
        guard case .success(let (launcherID, pidFD)) = spawned else {
            for fd in serverEnds { close(fd) }
            if case .failure(let error) = spawned { throw error }
            throw SystemCallError(call: "troupe_spawn", errno: EINVAL)
        }
        let command = RunningCommand(launcherID: launcherID, pidFD: pidFD, loop: loop,
                                     fds: (serverEnds[0], serverEnds[1], serverEnds[2], serverEnds[3]))
        do {
            for fd in serverEnds + [pidFD] {
                try PipeEnds.setNonBlocking(fd)
                try loop.register(fd)
            }
        } catch {
            command.terminate()
            throw error
        }
        return command
    }

    private static func spawn(_ request: CommandRequest, childEnds: [Int32]) -> Result<(Int32, Int32), SystemCallError> {
        let candidates = CStringArray(request.candidates)
        let argv = CStringArray(request.argv)
        let environment = CStringArray(request.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        let readOnly = CStringArray(request.isolation.readOnlyPaths)
        guard candidates.complete, argv.complete, environment.complete, readOnly.complete,
              !request.argv.isEmpty else {
            return .failure(SystemCallError(call: "troupe_spawn", errno: ENOMEM))
        }
        let cgroupFDs: [Int32]
        do {
            cgroupFDs = try request.cgroup?.openMembership() ?? []
        } catch {
            return .failure(error)
        }
        defer { for fd in cgroupFDs { close(fd) } }
        let limits = request.limits
        func limit(_ value: Int?) -> Int64 { value.map { Int64($0) } ?? -1 }
        return request.directory.withCString { directory in request.staging.withCString { staging in cgroupFDs.withUnsafeBufferPointer { cgroups in
            var spawnRequest = troupe_spawn_request(
                candidates: candidates.cArray, argv: argv.cArray, envp: environment.cArray,
                directory: directory, staging: staging, read_only_paths: readOnly.cArray,
                stdin_fd: childEnds[0], stdout_fd: childEnds[1], stderr_fd: childEnds[2], report_fd: childEnds[3],
                limits: troupe_spawn_limits(
                    cpu_seconds: limit(limits.cpuSeconds), address_space_bytes: limit(limits.addressSpaceBytes),
                    file_size_bytes: limit(limits.fileSizeBytes), processes: limit(limits.processes),
                    open_files: limit(limits.openFiles)),
                has_user: request.user == nil ? 0 : 1, uid: request.user ?? 0, gid: request.user ?? 0,
                namespaces: request.isolation.cloneFlags,
                user_namespace: request.isolation.identity == .userNamespace && request.user != nil ? 1 : 0,
                cgroup_fds: cgroups.baseAddress, cgroup_fd_count: Int32(cgroups.count))
            var pidFD: Int32 = -1
            let launcherID = troupe_spawn(&spawnRequest, &pidFD)
            guard launcherID > 0 else { return .failure(SystemCallError(call: "troupe_spawn", errno: errno)) }
            return .success((launcherID, pidFD))
        } } }
    }

    /// Asks the launcher to end the command and everything it started (SIGTERM); SIGKILLs the
    /// launcher's group (the command's too) if it has not ended after ``terminationGrace``.
    /// Idempotent, and harmless after the command ended.
    public func terminate() {
        let first = lifecycle.withLock { state -> Bool in
            guard !state.reaped, !state.terminating else { return false }
            state.terminating = true
            kill(launcherID, SIGTERM)
            ProcessPriority.raiseToExit(group: launcherID)
            return true
        }
        guard first else { return }
        Task {
            do { try await Task.sleep(for: Self.terminationGrace) } catch { return }
            self.lifecycle.withLock { state in
                guard !state.reaped else { return }
                kill(-self.launcherID, SIGKILL)
            }
        }
    }

    /// Feeds `stdin`, captures up to `outputCap` bytes of each of stdout and stderr, stops the
    /// command after `timeout`, and returns once the launcher has ended and been reaped.
    public func outcome(stdin: [UInt8], outputCap: Int, timeout: Duration) async -> CommandOutcome {
        let timedOut = Atomic<Bool>(false)
        let timer = Task {
            do { try await Task.sleep(for: timeout) } catch { return }
            timedOut.store(true, ordering: .relaxed)
            self.terminate()
        }
        async let fed: Void = feed(stdin)
        async let stdout = drain(stdoutFD, cap: outputCap)
        async let stderr = drain(stderrFD, cap: outputCap)
        let reportBytes = await drain(reportFD, cap: 4096).bytes
        let report = LaunchReport(parsing: reportBytes)
        let launcherStatus = await reap()
        let cut = Task {
            do { try await Task.sleep(for: Self.outputGrace) } catch { return }
            self.cutPipes()
        }
        let (out, err) = await (stdout, stderr)
        await fed
        cut.cancel()
        timer.cancel()
        let status = report.status
        var failure = report.failure
        if status == nil && failure == nil {
            failure = "the launcher ended without a report (wait status \(launcherStatus))"
        }
        return CommandOutcome(
            exitCode: failure == nil ? status.flatMap(LaunchReport.exitCode) : nil,
            signal: status.flatMap(LaunchReport.signal),
            stdout: out.bytes, stderr: err.bytes, truncated: out.truncated || err.truncated,
            timedOut: timedOut.load(ordering: .relaxed), stopped: report.stopped,
            duration: ContinuousClock.now - startedAt, failure: failure)
    }

    private func feed(_ bytes: [UInt8]) async {
        defer { finish(stdinFD) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return write(stdinFD, base + offset, raw.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
                do { try await loop.wait(stdinFD, for: .write) } catch { return }
            } else {
                return  // EPIPE: the command closed its stdin or ended
            }
        }
    }

    /// Reads `fd` to its end, keeping at most `cap` bytes; past the cap the pipe is closed.
    private func drain(_ fd: Int32, cap: Int) async -> (bytes: [UInt8], truncated: Bool) {
        defer { finish(fd) }
        var kept: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                let room = cap - kept.count
                kept.append(contentsOf: buffer[0..<min(count, room)])
                if count > room { return (kept, true) }
            } else if count == 0 {
                return (kept, false)
            } else if errno == EAGAIN || errno == EINTR {
                do { try await loop.wait(fd, for: .read) } catch { return (kept, false) }
            } else {
                return (kept, false)
            }
        }
    }

    private func finish(_ fd: Int32) {
        lifecycle.withLock { state in
            guard state.open.remove(fd) != nil else { return }
            loop.deregister(fd)
            close(fd)
        }
    }

    /// Ends the waits on the pipes still open (their drains and the feed then return with what
    /// they have); each is closed by its own ``finish(_:)``.
    private func cutPipes() {
        lifecycle.withLock { state in
            for fd in [stdinFD, stdoutFD, stderrFD] where state.open.contains(fd) { loop.deregister(fd) }
        }
    }

    /// Waits for the launcher's pidfd, then reaps it; its wait status.
    private func reap() async -> Int32 {
        defer { finish(pidFD) }
        while true {
            let reaped = lifecycle.withLock { state -> Int32? in
                var status: Int32 = 0
                let result = waitpid(launcherID, &status, WNOHANG)
                guard result == launcherID || (result < 0 && errno == ECHILD) else { return nil }
                state.reaped = true
                return status
            }
            if let reaped { return reaped }
            do { try await loop.wait(pidFD, for: .read) } catch { return -1 }
        }
    }
}
