import Foundation
import Glibc
import TroupeCore
import TroupeSystem

/// One sandbox: its private directory, its uid, and at most one command at a time.
///
/// `provisioning → ready ⇄ busy → terminating → terminated | failed`. Each transition is decided
/// and made before any `await` (the actor is reentrant there), then written through the store.
public actor SandboxActor {
    private enum State {
        case provisioning
        case ready
        /// A command runs (nil while it starts).
        case busy(RunningCommand?)
        case terminating
        case terminated
        case failed
    }

    private var state: State
    private var record: SandboxRecord
    private let context: SandboxContext
    /// Asked to terminate while its command was starting: end it as soon as it runs.
    private var terminateWhenStarted = false
    /// Waiting for a termination under way to finish.
    private var terminationWaiters: [CheckedContinuation<Void, Never>] = []
    /// A termination waiting for the command it stopped to end (before the directory goes).
    private var execWaiters: [CheckedContinuation<Void, Never>] = []

    init(_ record: SandboxRecord, context: SandboxContext) {
        self.record = record
        self.context = context
        state = switch record.status {
        case .provisioning: .provisioning
        case .ready, .busy: .ready
        case .terminating: .terminating
        case .terminated: .terminated
        case .failed: .failed
        }
    }

    public var current: SandboxRecord { record }

    /// The sandbox's private directory.
    var directory: String { context.directory(of: record.id) }

    /// Makes the directory (0700, owned by the sandbox's uid) and becomes `ready`.
    func provision() async {
        guard case .provisioning = state else { return }
        do {
            try context.makeDirectory(for: record)
        } catch {
            await end(.failed, reason: "its directory could not be made: \(error)")
            return
        }
        state = .ready
        record.status = .ready
        await write(launcherID: nil, event: (.sandboxReady, .object(JSONObject())))
    }

    /// Runs one command; 409 (``SandboxRefusal/busy``) while another runs.
    func exec(_ exec: SandboxExec, origin: ChangeOrigin) async throws -> CommandOutcome {
        switch state {
        case .ready: break
        case .busy: throw SandboxRefusal.busy(record.id)
        default: throw SandboxRefusal.notReady(record.id, record.status)
        }
        let reserved = record.limits.maxOutputBytes * 2
        try context.reserveOutput(reserved)
        defer { context.releaseOutput(reserved) }
        state = .busy(nil)
        terminateWhenStarted = false  // a stop asked of an earlier command is not this one's
        record.status = .busy
        let cgroup = context.cgroup(of: record)
        let disk = await SandboxDiskBound.measured(startingIn: directory, limits: context.diskLimits)
        var limits = record.limits.processLimits(inCgroup: cgroup != nil)
        limits.fileSizeBytes = min(limits.fileSizeBytes ?? disk.bytesLeft, disk.bytesLeft)
        let request = CommandRequest(argv: exec.argv, environment: exec.environment, directory: directory, limits: limits,
                                     user: context.user(forSlot: record.slot), isolation: context.isolation, cgroup: cgroup)
        let command: RunningCommand
        do {
            // Made (or found, and its bounds set again) at each exec: a group does not outlive a reboot.
            let bounds = record.limits.cgroupBounds
            try cgroup?.create(memoryBytes: bounds.memoryBytes, processes: bounds.processes)
            command = try await RunningCommand.start(request, on: context.loop)
        } catch {
            await settleAfterExec()
            throw error
        }
        if case .terminating = state {
            command.terminate()
        } else {
            state = .busy(command)
            if terminateWhenStarted { command.terminate() }
        }
        let timeout = Duration.milliseconds(min(exec.timeoutMS ?? record.limits.wallTimeoutMS, record.limits.wallTimeoutMS))
        async let outcome = command.outcome(stdin: exec.stdin, outputCap: record.limits.maxOutputBytes, timeout: timeout)
        let watch = Task { [directory] in await disk.watch(directory, stopping: command) }
        await write(launcherID: command.launcherID, event: nil, origin: origin)
        var finished = await outcome
        watch.cancel()
        let passed = await watch.value ? true : await disk.isPassed(in: directory)
        if passed {
            finished.passedBound = disk.passedNote
            finished.stderr += Array("\n\(disk.passedNote)\n".utf8)
        }
        await settleAfterExec(finished: finished)
        return finished
    }

    /// Back to `ready` after a command, unless a termination began meanwhile; either way a
    /// command that ran is told in `sandbox.exec_finished` (before a termination goes on to
    /// `sandbox.terminated`).
    private func settleAfterExec(finished: CommandOutcome? = nil) async {
        let event = finished.map { (EventType.sandboxExecFinished, Self.summary(of: $0)) }
        guard case .busy = state else {
            if let event { await write(launcherID: nil, event: event) }
            for waiter in execWaiters { waiter.resume() }
            execWaiters = []
            return
        }
        state = .ready
        record.status = .ready
        await write(launcherID: nil, event: event)
    }

    /// Kills its processes, removes its directory, and ends `terminated`; returns once it has.
    func terminate(reason: String?, origin: ChangeOrigin = .system) async {
        switch state {
        case .terminated, .failed:
            return
        case .terminating:
            await withCheckedContinuation { terminationWaiters.append($0) }
            return
        case .busy(let command):
            state = .terminating
            if let command { command.terminate() } else { terminateWhenStarted = true }
            record.status = .terminating
            await write(launcherID: nil, event: nil, origin: origin)
            await withCheckedContinuation { execWaiters.append($0) }
        case .provisioning, .ready:
            state = .terminating
            record.status = .terminating
            await write(launcherID: nil, event: nil, origin: origin)
        }
        await end(.terminated, reason: reason)
    }

    /// A previous server stopped during an exec: the sandbox is `ready` again (made so at init)
    /// and the exec is reported failed.
    func recoverInterruptedExec() async {
        guard case .ready = state else { return }
        record.status = .ready
        let failure = JSON.object(JSONObject([("exit_code", .null), ("error", .string("interrupted: the server stopped during the exec"))]))
        await write(launcherID: nil, event: (.sandboxExecFinished, failure))
    }

    /// Ends the command under way, leaving the sandbox as it is (the server stops).
    func stopCommand() {
        if case .busy(let command) = state { command?.terminate() } else { return }
        terminateWhenStarted = true
    }

    private func end(_ status: SandboxRecord.Status, reason: String?) async {
        state = status == .failed ? .failed : .terminated
        record.status = status
        record.reason = reason
        record.terminatedAt = context.clock.now
        context.removeDirectory(of: record)
        await context.removeCgroup(of: record)
        await write(launcherID: nil, event: (.sandboxTerminated, .object(JSONObject([("reason", reason.map(JSON.string) ?? .null)]))))
        context.released(record)
        for waiter in terminationWaiters { waiter.resume() }
        terminationWaiters = []
    }

    /// Writes the record; a failure is logged and counted, and the state in memory goes on
    /// (the next write, or the next start's recovery, brings the row level).
    private func write(launcherID: Int32?, event: (EventType, JSON)?, origin: ChangeOrigin = .system) async {
        do {
            try await context.store.update(record, launcherID: launcherID, event: event, origin: origin)
        } catch {
            context.failures.record("sandbox_write", error)
        }
    }

    /// An exec's end as the `sandbox.exec_finished` event tells it (no output: that is the answer's).
    static func summary(of outcome: CommandOutcome) -> JSON {
        .object(JSONObject([
            ("exit_code", outcome.exitCode.map { .int(Int64($0)) } ?? .null),
            ("signal", outcome.signal.map { .string(SandboxExec.signalName($0)) } ?? .null),
            ("timed_out", .bool(outcome.timedOut)), ("truncated", .bool(outcome.truncated)),
            ("duration_ms", .int(SandboxExec.milliseconds(outcome.duration))),
            ("error", (outcome.failure ?? outcome.passedBound).map(JSON.string) ?? .null),
        ]))
    }
}
