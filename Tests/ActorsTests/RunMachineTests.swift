import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct RunMachineTests {
    private let t0 = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)

    private func steps(_ text: String) throws -> [WorkflowStep] {
        try WorkflowParser.parse(steps: JSON.parse(Array(text.utf8))).get()
    }

    private func status(_ run: RunMachine, _ id: String) -> StepStatus? { run.steps.first { $0.id == id }?.status }

    /// Applies `event`, expecting a refusal with `code` that leaves the run as it was.
    private func expectRefused(_ run: inout RunMachine, _ event: RunMachine.Event, _ code: RunMachine.Refusal.Code,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        let before = run
        do {
            _ = try run.apply(event, at: t0)
            Issue.record("\(event) was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, sourceLocation: sourceLocation)
        }
        #expect(run == before, "a refused event changes nothing", sourceLocation: sourceLocation)
    }

    @Test func shipFromTicketRunsStepByStepToApproval() throws {
        var run = RunMachine(definition: WorkflowTemplate.shipFromTicket.steps)
        #expect(run.status == .queued)
        #expect(try run.apply(.start, at: t0) == [.enqueueJob(stepID: "orchestrator")])
        #expect(run.status == .running)
        _ = try run.apply(.attemptStarted(stepID: "orchestrator"), at: t0)
        #expect(run.steps[0].attempts == 1)
        for (done, next) in [("orchestrator", "dev"), ("dev", "sre"), ("sre", "qa")] {
            #expect(try run.apply(.stepSucceeded(stepID: done, output: ["ok": true]), at: t0) == [.enqueueJob(stepID: next)])
        }
        #expect(try run.apply(.stepSucceeded(stepID: "qa", output: nil), at: t0 + .seconds(5)) == [])
        #expect(run.status == .awaitingApproval)
        #expect(status(run, "approval_gate") == .awaiting)
        #expect(run.steps[3].durationMilliseconds == 5000)
        expectRefused(&run, .approve(role: .member, note: nil), .forbidden)
        #expect(try run.apply(.approve(role: .admin, note: "ship it"), at: t0) == [.finished(.succeeded)])
        #expect(run.status == .succeeded)
        #expect(run.steps.allSatisfy { $0.status == .succeeded })
        expectRefused(&run, .cancel, .conflict)
        expectRefused(&run, .retry(fromStepID: nil), .conflict)
    }

    @Test func independentStepsStartTogetherAndJoin() throws {
        var run = RunMachine(definition: try steps(#"""
            [{"id":"join","kind":"task","needs":["a","b"]},{"id":"a","kind":"task"},{"id":"b","kind":"wait","duration_ms":1000}]
            """#))
        #expect(try run.apply(.start, at: t0) == [.enqueueJob(stepID: "a"), .startTimer(stepID: "b", fireAt: t0 + .seconds(1))], "in definition order")
        #expect(run.armedTimers.map(\.stepID) == ["b"])
        #expect(try run.apply(.stepSucceeded(stepID: "a", output: nil), at: t0) == [])
        #expect(try run.apply(.timerFired(stepID: "b"), at: t0 + .seconds(1)) == [.enqueueJob(stepID: "join")])
        expectRefused(&run, .timerFired(stepID: "b"), .conflict)
        #expect(run.armedTimers.isEmpty)
        #expect(try run.apply(.stepSucceeded(stepID: "join", output: nil), at: t0) == [.finished(.succeeded)])
    }

    @Test func aFailedStepFailsTheRunStopsAndSkipsTheRest() throws {
        var run = RunMachine(definition: try steps(#"""
            [{"id":"a","kind":"task"},{"id":"b","kind":"task"},{"id":"c","kind":"task","needs":["a","b"]}]
            """#))
        _ = try run.apply(.start, at: t0)
        let actions = try run.apply(.stepFailed(stepID: "a", code: "boom", message: "exit 1"), at: t0)
        #expect(actions == [.stopWork(stepID: "b"), .finished(.failed)])
        #expect(run.status == .failed)
        #expect(run.failure == RunMachine.Failure(code: "step_failed", message: "Step a failed: exit 1", stepID: "a"))
        #expect([status(run, "a"), status(run, "b"), status(run, "c")] == [.failed, .cancelled, .skipped])
        // A late completion of the stopped step changes nothing.
        expectRefused(&run, .stepSucceeded(stepID: "b", output: nil), .conflict)

        // Retry runs the failed, cancelled and skipped steps again.
        #expect(try run.apply(.retry(fromStepID: nil), at: t0) == [.enqueueJob(stepID: "a"), .enqueueJob(stepID: "b")])
        #expect(run.status == .running)
        #expect(run.failure == nil)
        #expect(run.steps.allSatisfy { $0.attempts == 0 })
    }

    @Test func rejectFailsTheRunWithApprovalRejected() throws {
        var run = RunMachine(definition: try steps(#"[{"id":"gate","kind":"approval","approvers":["owner"]}]"#))
        expectRefused(&run, .approve(role: .owner, note: nil), .conflict)
        _ = try run.apply(.start, at: t0)
        #expect(run.status == .awaitingApproval)
        expectRefused(&run, .reject(role: .admin, note: nil), .forbidden)
        #expect(try run.apply(.reject(role: .owner, note: "not today"), at: t0) == [.finished(.failed)])
        #expect(run.failure?.code == "approval_rejected")
        #expect(run.failure?.stepID == "gate")
        #expect(status(run, "gate") == .failed)
        expectRefused(&run, .reject(role: .owner, note: nil), .conflict)
    }

    @Test func cancelStopsRunningWorkAndOnlyOnce() throws {
        var run = RunMachine(definition: try steps(#"""
            [{"id":"a","kind":"sandbox","argv":["sleep","9"]},{"id":"g","kind":"approval"},{"id":"z","kind":"task","needs":["a"]}]
            """#))
        #expect(try run.apply(.start, at: t0) == [.startSandbox(stepID: "a")])
        #expect(run.status == .awaitingApproval, "an approval awaits while a runs")
        #expect(try run.apply(.cancel, at: t0) == [.stopWork(stepID: "a"), .finished(.cancelled)])
        #expect([status(run, "a"), status(run, "g"), status(run, "z")] == [.cancelled, .cancelled, .skipped])
        expectRefused(&run, .cancel, .conflict)
        expectRefused(&run, .stepSucceeded(stepID: "a", output: nil), .conflict)
        #expect(try run.apply(.retry(fromStepID: nil), at: t0) == [.startSandbox(stepID: "a")])
        #expect(run.status == .awaitingApproval)
    }

    @Test func retryFromAStepRunsItAndEverythingAfterIt() throws {
        var run = RunMachine(definition: try steps(#"""
            [{"id":"c","kind":"task","needs":["b"]},{"id":"a","kind":"task"},{"id":"b","kind":"task","needs":["a"]},{"id":"side","kind":"task"}]
            """#))
        _ = try run.apply(.start, at: t0)
        _ = try run.apply(.stepSucceeded(stepID: "side", output: nil), at: t0)
        _ = try run.apply(.stepSucceeded(stepID: "a", output: nil), at: t0)
        _ = try run.apply(.stepSucceeded(stepID: "b", output: nil), at: t0)
        _ = try run.apply(.stepFailed(stepID: "c", code: "x", message: "flaky"), at: t0)
        expectRefused(&run, .retry(fromStepID: "nope"), .invalid)
        #expect(try run.apply(.retry(fromStepID: "b"), at: t0) == [.enqueueJob(stepID: "b")])
        #expect([status(run, "a"), status(run, "b"), status(run, "c"), status(run, "side")] == [.succeeded, .running, .pending, .succeeded])

        // A retry from a step whose own needs did not succeed could never finish: refused.
        var failedEarly = RunMachine(definition: try steps(#"[{"id":"a","kind":"task"},{"id":"b","kind":"task","needs":["a"]}]"#))
        _ = try failedEarly.apply(.start, at: t0)
        _ = try failedEarly.apply(.stepFailed(stepID: "a", code: "x", message: "no"), at: t0)
        expectRefused(&failedEarly, .retry(fromStepID: "b"), .invalid)
    }

    @Test func refusedEventsAndADryRun() throws {
        var run = RunMachine(definition: try steps(#"[{"id":"a","kind":"task"},{"id":"w","kind":"wait","duration_ms":5}]"#))
        expectRefused(&run, .stepSucceeded(stepID: "a", output: nil), .conflict)
        _ = try run.apply(.start, at: t0)
        expectRefused(&run, .start, .conflict)
        expectRefused(&run, .stepSucceeded(stepID: "ghost", output: nil), .invalid)
        expectRefused(&run, .timerFired(stepID: "a"), .conflict)
        expectRefused(&run, .stepSucceeded(stepID: "w", output: nil), .conflict)
        expectRefused(&run, .retry(fromStepID: nil), .conflict)

        var planned = RunMachine(definition: try steps(#"[{"id":"a","kind":"task"}]"#), dryRun: true)
        #expect(planned.status == .planned)
        expectRefused(&planned, .start, .conflict)
        expectRefused(&planned, .cancel, .conflict)
        #expect(planned.steps.map(\.status) == [.pending])
    }

    /// The reported crash: two steps each reporting 9e18 input tokens overflowed the run's
    /// total. Each report is bounded at the API; the sums saturate.
    @Test func usageTotalsSaturateInsteadOfOverflowing() throws {
        var run = RunMachine(definition: try steps(#"[{"id":"a","kind":"task"},{"id":"b","kind":"task"}]"#))
        run.addUsage(inputTokens: 9_000_000_000_000_000_000, outputTokens: 1, costUSD: .greatestFiniteMagnitude, toStep: 0)
        run.addUsage(inputTokens: 9_000_000_000_000_000_000, outputTokens: 1, costUSD: .greatestFiniteMagnitude, toStep: 1)
        run.addUsage(inputTokens: 9_000_000_000_000_000_000, outputTokens: 1, costUSD: 1, toStep: 1)
        #expect(run.steps[1].inputTokens == .max)
        #expect(run.totalTokens.input == .max)
        #expect(run.totalTokens.output == 3)
        #expect(run.totalCostUSD == .greatestFiniteMagnitude)
    }
}
