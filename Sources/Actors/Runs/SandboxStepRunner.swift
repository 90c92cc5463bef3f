import TroupeCore
import TroupeSystem

/// Runs the `sandbox` steps of runs (API.md, Workflows). Each attempt gets a fresh sandbox of
/// the run's workspace (`run_id` set), under the plan's sandbox cap. When the workspace is at
/// the cap, the attempt waits for a free sandbox until the step's `timeout_ms` has passed. The
/// command's wall timeout is the step's `timeout_ms` unless its `resource_limits` name a shorter
/// `wall_timeout_ms`. The sandbox is deleted as soon as its command ends.
///
/// Exit 0 succeeds the step. Any other end is a failed attempt; another one starts after a
/// back-off while `max_attempts` allows. The last failure fails the step, with the exit code
/// and the tail of stderr in its `error` (``SandboxStepOutcome``).
///
/// Each running step has one driver task. Its generation keeps a step that was stopped and
/// started again apart from its old driver. A step stopped with its run (``stop(runID:stepID:)``)
/// has its sandbox deleted, which kills the whole process tree, and its driver reports nothing.
/// When the server stops (``stopAll()``), drivers report nothing either. Their sandboxes stay,
/// and the next start's ``RunEngine/recover(jobs:)`` ends them and goes on with the steps' next
/// attempts.
final class SandboxStepRunner: Sendable {
    /// What a step runs, taken from its run when it starts.
    struct Step: Sendable {
        let runID: String
        let workspaceID: String
        let definition: WorkflowStep
        let argv: [String]
        let limits: SandboxLimits
        /// Attempts started already: a restart after a crash goes on from there.
        let attempts: Int
    }

    /// How one attempt ended: the command's outcome; a refusal no retry can change; or the
    /// driver was stopped (nothing to report).
    private enum AttemptEnd: Error {
        case outcome(SandboxStepOutcome)
        case refused(code: String, message: String)
        case stopped
    }

    private struct Driver {
        let generation: Int
        let workspaceID: String
        var task: Task<Void, Never>?
        /// The sandbox of the attempt under way, once made.
        var sandboxID: String?
    }

    private struct Drivers {
        var running: [String: Driver] = [:]
        var nextGeneration = 0
        var stopped = false
    }

    let sandboxes: SandboxEngine
    private let cap: @Sendable (String) async throws -> Int?
    private let failures: BackgroundFailures
    private let setAside: SetAsideRecords
    private let drivers = LockedBox(Drivers())

    /// `cap`: the plan's sandbox cap of a workspace (nil: none).
    init(sandboxes: SandboxEngine, cap: @escaping @Sendable (String) async throws -> Int?, failures: BackgroundFailures, setAside: SetAsideRecords) {
        self.sandboxes = sandboxes
        self.cap = cap
        self.failures = failures
        self.setAside = setAside
    }

    /// Starts `step`'s driver (nothing once the runner has stopped).
    func start(_ step: Step, engine: RunEngine) {
        let key = step.runID + "/" + step.definition.id
        let replaced = drivers.withLock { drivers -> Driver? in
            guard !drivers.stopped else { return nil }
            let generation = drivers.nextGeneration
            drivers.nextGeneration += 1
            var driver = Driver(generation: generation, workspaceID: step.workspaceID)
            driver.task = Task { await self.drive(step, key: key, generation: generation, engine: engine) }
            return drivers.running.updateValue(driver, forKey: key)
        }
        if let replaced { end(replaced) }
    }

    /// Stops the step's driver and deletes its sandbox (its run was cancelled or failed).
    func stop(runID: String, stepID: String) {
        if let driver = drivers.withLock({ $0.running.removeValue(forKey: runID + "/" + stepID) }) { end(driver) }
    }

    /// The server stops: no driver reports again, and none starts; sandboxes are left to the
    /// next start's recovery.
    func stopAll() {
        let tasks = drivers.withLock { drivers in
            defer {
                drivers.running = [:]
                drivers.stopped = true
            }
            return drivers.running.values.compactMap(\.task)
        }
        for task in tasks { task.cancel() }
    }

    private func end(_ driver: Driver) {
        driver.task?.cancel()
        if let id = driver.sandboxID { Task { await self.delete(id, workspaceID: driver.workspaceID) } }
    }

    private func drive(_ step: Step, key: String, generation: Int, engine: RunEngine) async {
        let stepID = step.definition.id
        let maxAttempts = step.definition.maxAttempts
        var attempts = step.attempts
        var retry = Backoff(initial: .seconds(1), maximum: .seconds(30))
        while attempts < maxAttempts {
            attempts += 1
            let end = await attempt(attempts, of: step, key: key, generation: generation, engine: engine)
            switch end {
            case .stopped:
                return
            case .outcome(.succeeded(let output)):
                await finish(.stepSucceeded(stepID: stepID, output: output), step, key: key, generation: generation, engine: engine)
                return
            case .refused(let code, let message):
                await finish(.stepFailed(stepID: stepID, code: code, message: message), step, key: key, generation: generation, engine: engine)
                return
            case .outcome(.failed(let code, let message, let details)):
                guard attempts < maxAttempts else {
                    let told = "Attempt \(attempts) of \(maxAttempts): \(message)"
                    await finish(.stepFailed(stepID: stepID, code: code, message: told, details: details), step, key: key, generation: generation, engine: engine)
                    return
                }
                do { try await Task.sleep(for: retry.failed()) } catch { return }  // stopped
            }
        }
        let message = "The server stopped during the step's last attempt (\(attempts) of \(maxAttempts))."
        await finish(.stepFailed(stepID: stepID, code: "sandbox_interrupted", message: message), step, key: key, generation: generation, engine: engine)
    }

    /// Attempt `number` (from 1), from making its sandbox to deleting it. The command's
    /// environment is `TROUPE_RUN_ID`, `TROUPE_STEP_ID` and `TROUPE_ATTEMPT`, nothing else.
    private func attempt(_ number: Int, of step: Step, key: String, generation: Int, engine: RunEngine) async -> AttemptEnd {
        switch sandboxes.configuration.execRefusal {
        case .execDisabled?:
            return .refused(code: "forbidden", message: "Sandbox exec is off on this server (sandbox_exec: false): sandbox steps cannot run.")
        case .isolationUnavailable(let missing)?:
            return .refused(code: "forbidden", message: "Sandbox steps cannot run isolated on this server: \(missing).")
        default: break
        }
        if let (_, problem) = SandboxExec.argvProblems(step.argv).first { return .refused(code: "invalid_argv", message: problem) }
        let timeoutMS = Int(clamping: step.definition.attemptTimeoutMilliseconds)
        let record: SandboxRecord
        switch await makeSandbox(step, timeoutMS: timeoutMS) {
        case .success(let made): record = made
        case .failure(let refusal): return refusal
        }
        guard attach(record.id, key: key, generation: generation) else {
            if !drivers.withLock(\.stopped) { await delete(record.id, workspaceID: step.workspaceID) }
            return .stopped
        }
        // The attempt counts once there is a sandbox to make it in.
        guard await report(.attemptStarted(stepID: step.definition.id), runID: step.runID, key: key, generation: generation, engine: engine) else {
            await delete(record.id, workspaceID: step.workspaceID)
            return .stopped
        }
        let environment = ["TROUPE_RUN_ID": step.runID, "TROUPE_STEP_ID": step.definition.id, "TROUPE_ATTEMPT": String(number)]
        let exec = SandboxExec(argv: step.argv, environment: environment, timeoutMS: timeoutMS)
        let ended: AttemptEnd
        do {
            if let outcome = try await sandboxes.exec(exec, in: record.id, workspaceID: step.workspaceID) {
                ended = .outcome(SandboxStepOutcome(outcome, program: step.argv.first ?? "", timeoutMS: min(timeoutMS, step.limits.wallTimeoutMS)))
            } else {
                ended = .outcome(.failed(code: "sandbox_error", message: "The step's sandbox was gone before its command ran.", details: JSONObject()))
            }
        } catch {
            ended = .outcome(.failed(code: "sandbox_error", message: "The step's sandbox failed: \(error)", details: JSONObject()))
        }
        guard isCurrent(key, generation: generation) else { return .stopped }  // who stopped it deletes the sandbox
        drivers.withLock { $0.running[key]?.sandboxID = nil }
        await delete(record.id, workspaceID: step.workspaceID)
        return ended
    }

    /// A sandbox for one attempt, waiting while the workspace is at its cap (or no uid is free)
    /// until `timeoutMS` has passed.
    private func makeSandbox(_ step: Step, timeoutMS: Int) async -> Result<SandboxRecord, AttemptEnd> {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMS)
        let ttl = min(max(timeoutMS / 1000 + 60, SandboxEngine.ttlRange.lowerBound), SandboxEngine.ttlRange.upperBound)
        var poll = Backoff(initial: .milliseconds(50), maximum: .seconds(2))
        while true {
            let full: String
            do {
                let cap = try await cap(step.workspaceID)
                return .success(try await sandboxes.create(workspaceID: step.workspaceID, limits: step.limits, ttlSeconds: ttl,
                                                           runID: step.runID, cap: cap, waitUntilReady: true))
            } catch SandboxRefusal.capReached(let cap) {
                full = "the workspace held its plan's \(cap) sandboxes"
            } catch SandboxRefusal.noSlotLeft {
                full = "every uid of the server's sandbox range was taken"
            } catch {
                return .failure(.outcome(.failed(code: "sandbox_error", message: "The step's sandbox could not be made: \(error)", details: JSONObject())))
            }
            guard ContinuousClock.now < deadline else {
                return .failure(.refused(code: "rate_limited", message: "No sandbox was free for the step's \(timeoutMS) ms: \(full)."))
            }
            do { try await Task.sleep(for: poll.failed()) } catch { return .failure(.stopped) }
        }
    }

    /// Records the attempt's sandbox on the driver, unless the driver was stopped meanwhile.
    private func attach(_ sandboxID: String, key: String, generation: Int) -> Bool {
        drivers.withLock { drivers in
            guard drivers.running[key]?.generation == generation else { return false }
            drivers.running[key]?.sandboxID = sandboxID
            return true
        }
    }

    private func isCurrent(_ key: String, generation: Int) -> Bool {
        drivers.withLock { $0.running[key]?.generation == generation }
    }

    /// Reports the step's end, then forgets the driver.
    private func finish(_ event: RunMachine.Event, _ step: Step, key: String, generation: Int, engine: RunEngine) async {
        await report(event, runID: step.runID, key: key, generation: generation, engine: engine)
        drivers.withLock { drivers in
            if drivers.running[key]?.generation == generation { drivers.running.removeValue(forKey: key) }
        }
    }

    /// Applies `event` to the run while this driver is still its step's, retrying with back-off
    /// while the database refuses; whether the run took it (false: the step moved on).
    @discardableResult
    private func report(_ event: RunMachine.Event, runID: String, key: String, generation: Int, engine: RunEngine) async -> Bool {
        var backoff = Backoff()
        while isCurrent(key, generation: generation) {
            do {
                _ = try await engine.apply(event, to: runID)
                return true
            } catch is RunRefusal {
                return false
            } catch let error as ActorRuntimeError where error.code == .notFound || error.code == .corruptSnapshot {
                setAside.record(kind: "sandbox_step", id: key, reason: "its run cannot take it: \(error)")
                return false
            } catch {
                failures.record("sandbox_steps", error)
                do { try await Task.sleep(for: backoff.failed()) } catch { return false }
            }
        }
        return false
    }

    private func delete(_ id: String, workspaceID: String) async {
        do {
            _ = try await sandboxes.delete(id: id, workspaceID: workspaceID)
        } catch {
            failures.record("sandbox_steps", error)
        }
    }
}
