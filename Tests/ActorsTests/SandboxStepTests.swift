import Foundation
import Testing
import TroupeCore
import TroupeTestSupport

@testable import TroupeActors

/// `sandbox` steps on a temporary runtime, with real processes: each attempt in a fresh sandbox
/// of the run, exit 0 succeeding, failures told in the step's `error`, the timeout, retries,
/// cancel killing the command, exec off, and the plan's cap shared with the API's sandboxes.
@Suite(.timeLimit(.minutes(5)))
struct SandboxStepTests {
    private struct Harness {
        let runtime: TroupeRuntime
        let workspace: String

        static func make(sandboxExec: Bool = true, sandboxCap: Int? = nil) async throws -> Harness {
            var settings = RuntimeSettings()
            settings.plans[.starter]?.sandboxes = sandboxCap
            let runtime = try await TroupeRuntime.temporary(clock: SystemClock(), settings: settings, sandboxExec: sandboxExec)
            return Harness(runtime: runtime, workspace: try await runtime.createTenant(name: "Acme"))
        }

        /// Starts a run of one workflow whose steps are `steps` (JSON).
        func run(_ steps: String) async throws -> String {
            let parsed = try WorkflowParser.parse(steps: JSON.parse(Array(steps.utf8))).get()
            let workflow = try await WorkflowStore(store: runtime.store).create(
                id: RandomID.make(prefix: "wf"), workspaceID: workspace, slug: RandomID.make(prefix: "w").lowercased(), name: "W",
                steps: parsed, costCapUSD: nil, at: runtime.clock.now)
            let id = RandomID.make(prefix: "run")
            let state = RunState(workspace: workspace, workflow: workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                                 createdBy: ["type": "user", "id": "usr_1"], at: runtime.clock.now)
            _ = try await runtime.runs.create(id: id, state: state, activeRunCap: nil)
            return id
        }

        /// The run once `done` holds of it (polled for up to 10 s).
        func run(_ id: String, until done: (RunState) -> Bool) async throws -> RunState {
            for _ in 0..<1_000 {
                if let state = try await runtime.runs.state(of: id, workspaceID: workspace), done(state) { return state }
                try await Task.sleep(for: .milliseconds(10))
            }
            return try #require(try await runtime.runs.state(of: id, workspaceID: workspace))
        }

        func finished(_ id: String) async throws -> RunState {
            try await run(id) { $0.machine.status.isFinished }
        }

        /// The sandboxes made for run `id`.
        func sandboxes(of id: String) async throws -> [SandboxRecord] {
            try await runtime.sandboxes.sandboxes(workspaceID: workspace, after: nil, limit: 100).filter { $0.runID == id }
        }
    }

    @Test func exitZeroSucceedsWithItsOutputInAFreshSandboxOfTheRun() async throws {
        let harness = try await Harness.make()
        let id = try await harness.run(#"""
            [{"id":"hello","kind":"sandbox","argv":["sh","-c","echo hi from $TROUPE_STEP_ID attempt $TROUPE_ATTEMPT; echo note >&2; pwd"]},
             {"id":"after","kind":"sandbox","argv":["true"],"needs":["hello"]}]
            """#)
        let state = try await harness.finished(id)
        #expect(state.machine.status == .succeeded)
        let hello = try #require(state.machine.steps.first)
        #expect(hello.attempts == 1)
        #expect(hello.output?["exit_code"] == 0)
        let stdout = try #require(hello.output?["stdout"]?.stringValue)
        #expect(stdout.hasPrefix("hi from hello attempt 1\n"))
        #expect(hello.output?["stderr"] == "note\n")
        let boxes = try await harness.sandboxes(of: id)
        #expect(boxes.count == 2, "a fresh sandbox per step")
        #expect(stdout.contains(boxes.last?.id ?? "-"), "the command ran in its sandbox's directory")
        #expect(boxes.allSatisfy { $0.status == .terminated }, "each sandbox ends with its command")
        await harness.runtime.close()
    }

    @Test func aFailingCommandIsRetriedThenFailsWithItsExitCodeAndStderr() async throws {
        let harness = try await Harness.make()
        let id = try await harness.run(#"[{"id":"flaky","kind":"sandbox","max_attempts":2,"argv":["sh","-c","echo try $TROUPE_ATTEMPT; echo 'no such target' >&2; exit 3"]}]"#)
        let state = try await harness.finished(id)
        #expect(state.machine.status == .failed)
        #expect(state.machine.failure?.stepID == "flaky")
        let step = try #require(state.machine.steps.first)
        #expect(step.attempts == 2)
        #expect(step.error?["code"] == "sandbox_exit")
        #expect(step.error?["exit_code"] == 3)
        #expect(step.error?["stderr_tail"] == "no such target\n")
        #expect(step.error?["message"] == "Attempt 2 of 2: sh exited with code 3: no such target")
        #expect(try await harness.sandboxes(of: id).count == 2, "each attempt in a fresh sandbox")
        await harness.runtime.close()
    }

    @Test func theStepsTimeoutKillsItsCommand() async throws {
        let harness = try await Harness.make()
        let marker = "timeout-\(UUID().uuidString)"
        let id = try await harness.run(#"[{"id":"slow","kind":"sandbox","timeout_ms":300,"max_attempts":1,"argv":["sh","-c","sleep 30; : \#(marker)"]}]"#)
        let state = try await harness.finished(id)
        let step = try #require(state.machine.steps.first)
        #expect(step.error?["code"] == "sandbox_timeout")
        #expect(step.error?["timed_out"] == true)
        // Bounded from when the command started, not from the step's start (which includes
        // making its sandbox, seconds under a loaded suite); the bound leaves room for a killed
        // command at nice 19 to exit under that load (3.9 s seen once).
        #expect((step.durationMilliseconds ?? 0) >= 300)
        let ran = step.error?["duration_ms"]?.intValue ?? .max
        #expect(ran >= 300 && ran < 5_000, "the command ran \(ran) ms")
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty)
        await harness.runtime.close()
    }

    /// Output an exec may hold is reserved from a server-wide budget while it runs: past it,
    /// another exec is refused at once (503), and the budget comes back when the first ends.
    @Test func execsBeyondTheOutputBudgetAreRefusedUntilOneEnds() async throws {
        let runtime = try await TroupeRuntime.temporary(clock: SystemClock(), sandboxOutputBudgetBytes: 3 << 20)
        let workspace = try await runtime.createTenant(name: "Acme")
        let limits = SandboxLimits(cpuSeconds: 10, memoryMB: 512, wallTimeoutMS: 10_000, maxOutputBytes: 1 << 20)
        let first = try await runtime.sandboxes.create(workspaceID: workspace, limits: limits, ttlSeconds: 60, cap: nil, waitUntilReady: true)
        let second = try await runtime.sandboxes.create(workspaceID: workspace, limits: limits, ttlSeconds: 60, cap: nil, waitUntilReady: true)
        let marker = "budget-\(UUID().uuidString)"
        let long = Task { try await runtime.sandboxes.exec(SandboxExec(argv: ["sh", "-c", "sleep 60; : \(marker)"]), in: first.id, workspaceID: workspace) }
        for _ in 0..<1_000 where ProcessTable.pids(commandLineContaining: marker).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        await #expect(throws: SandboxRefusal.outputBudgetSpent) {
            _ = try await runtime.sandboxes.exec(SandboxExec(argv: ["true"]), in: second.id, workspaceID: workspace)
        }
        _ = try await runtime.sandboxes.delete(id: first.id, workspaceID: workspace)  // its command is killed, its exec answers
        #expect(try await long.value?.timedOut == false)
        let after = try await runtime.sandboxes.exec(SandboxExec(argv: ["true"]), in: second.id, workspaceID: workspace)
        #expect(after?.exitCode == 0, "the budget came back")
        await runtime.close()
    }

    @Test func cancellingTheRunKillsItsSandboxStep() async throws {
        let harness = try await Harness.make()
        let marker = "cancel-\(UUID().uuidString)"
        let id = try await harness.run(#"[{"id":"long","kind":"sandbox","argv":["sh","-c","sleep 60; : \#(marker)"]}]"#)
        _ = try await harness.run(id) { $0.machine.steps.first?.attempts == 1 }
        for _ in 0..<100 where ProcessTable.pids(commandLineContaining: marker).isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!ProcessTable.pids(commandLineContaining: marker).isEmpty, "the command runs")
        _ = try await harness.runtime.runs.apply(.cancel, to: id)
        for _ in 0..<300 where try await harness.sandboxes(of: id).first?.status != .terminated { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await harness.sandboxes(of: id).first?.status == .terminated)
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty, "its process tree is gone")
        let state = try await harness.finished(id)
        #expect(state.machine.status == .cancelled)
        #expect(state.machine.steps.first?.status == .cancelled, "the killed command does not fail the cancelled step")
        await harness.runtime.close()
    }

    @Test func withExecOffTheStepFailsSayingSo() async throws {
        let harness = try await Harness.make(sandboxExec: false)
        let id = try await harness.run(#"[{"id":"box","kind":"sandbox","argv":["true"]}]"#)
        let state = try await harness.finished(id)
        #expect(state.machine.steps.first?.error?["code"] == "forbidden")
        #expect(state.machine.steps.first?.error?["message"]?.stringValue?.contains("sandbox_exec") == true)
        #expect(try await harness.sandboxes(of: id).isEmpty)
        await harness.runtime.close()
    }

    /// Two parallel steps under a cap of one: the second waits for the first's sandbox to end.
    @Test func stepsShareThePlansSandboxCapAndWaitForRoom() async throws {
        let harness = try await Harness.make(sandboxCap: 1)
        let id = try await harness.run(#"""
            [{"id":"one","kind":"sandbox","argv":["sh","-c","sleep 0.2"]},{"id":"two","kind":"sandbox","argv":["sh","-c","sleep 0.2"]}]
            """#)
        let state = try await harness.finished(id)
        #expect(state.machine.status == .succeeded)
        let boxes = try await harness.sandboxes(of: id).sorted { $0.createdAt < $1.createdAt }
        #expect(boxes.count == 2)
        if boxes.count == 2, let firstEnd = boxes[0].terminatedAt { #expect(firstEnd <= boxes[1].createdAt, "never two at once") }
        await harness.runtime.close()
    }

    /// After a stop during an attempt, recovery ends that attempt's sandbox and starts the next.
    @Test func recoveryGoesOnWithTheNextAttempt() async throws {
        let harness = try await Harness.make()
        let marker = "recover-\(UUID().uuidString)"
        let nap = "60.\(Int.random(in: 100_000...999_999))"  // the first attempt's sleep, found by its argument
        let script = #"if [ "$TROUPE_ATTEMPT" = 1 ]; then sleep \#(nap); : \#(marker); fi; echo attempt $TROUPE_ATTEMPT"#
        let id = try await harness.run(#"[{"id":"box","kind":"sandbox","argv":["sh","-c",\#(String(decoding: JSON.string(script).bytes, as: UTF8.self))]}]"#)
        _ = try await harness.run(id) { $0.machine.steps.first?.attempts == 1 }
        // The server stops while the first attempt's command runs (its sleep is up).
        for _ in 0..<200 where !ProcessTable.pids(commandLineContaining: nap).contains(where: { ProcessTable.name(of: $0) == "sleep" }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(ProcessTable.pids(commandLineContaining: nap).contains(where: { ProcessTable.name(of: $0) == "sleep" }), "the first attempt's command runs")
        harness.runtime.runs.stopSandboxSteps()
        await harness.runtime.sandboxes.stopCommands()
        #expect(try await harness.runtime.runs.state(of: id, workspaceID: harness.workspace)?.machine.steps.first?.status == .running,
                "a stopped server's step is not failed for it")
        let restarted = RunEngine(context: ActorContext(store: harness.runtime.store, clock: harness.runtime.clock, settings: RuntimeSettings()),
                                  failures: harness.runtime.failures, sandboxes: harness.runtime.sandboxes, sandboxCap: { _ in nil })
        let recovered = try await restarted.recover(jobs: JobStore(store: harness.runtime.store))
        #expect(recovered.sandboxSteps == 1)
        var state = try #require(try await restarted.state(of: id, workspaceID: harness.workspace))
        for _ in 0..<3_000 where !state.machine.status.isFinished {
            try await Task.sleep(for: .milliseconds(10))
            state = try #require(try await restarted.state(of: id, workspaceID: harness.workspace))
        }
        #expect(state.machine.status == .succeeded)
        #expect(state.machine.steps.first?.attempts == 2)
        #expect(state.machine.steps.first?.output?["stdout"] == "attempt 2\n")
        #expect(try await harness.sandboxes(of: id).first { $0.reason == "its run step was interrupted" } != nil)
        #expect(ProcessTable.pids(commandLineContaining: marker).isEmpty)
        restarted.stop()
        await harness.runtime.close()
    }
}
