import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct RunEngineTests {
    private func workflow(_ runtime: TroupeRuntime, _ steps: [WorkflowStep], slug: String = "w") async throws -> WorkflowRecord {
        try await WorkflowStore(store: runtime.store).create(id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: slug, name: "W",
                                                             steps: steps, costCapUSD: nil, at: runtime.clock.now)
    }

    private func newRun(_ runtime: TroupeRuntime, _ workflow: WorkflowRecord, dryRun: Bool = false, cap: Int? = nil) async throws -> (String, RunState, RunActor.Outcome) {
        let id = RandomID.make(prefix: "run")
        let state = RunState(workspace: "ws_a", workflow: workflow, ticket: "T-1", env: "preview", input: [:], metadata: [:], dryRun: dryRun,
                             createdBy: ["type": "user", "id": "usr_1"], at: runtime.clock.now)
        let (stored, outcome) = try await runtime.runs.create(id: id, state: state, activeRunCap: cap)
        return (id, stored, outcome)
    }

    /// Claims and completes `job` as a worker would.
    private func work(_ runtime: TroupeRuntime, _ job: JobRecord, succeed: Bool = true) async throws -> RunActor.Outcome? {
        let jobs = JobStore(store: runtime.store)
        let now = runtime.clock.now
        guard let claimed = try await jobs.claim(workspaceID: "ws_a", queues: [job.queue], workerID: "w", token: "t-\(job.id)",
                                                 lease: .seconds(30), at: now) else { return nil }
        #expect(claimed.id == job.id)
        let finished = try await jobs.update(workspaceID: "ws_a", id: job.id, at: now) { record throws(JobMachine.Refusal) in
            if succeed {
                try record.machine.complete(token: "t-\(job.id)", at: now)
                record.output = ["done": .string(job.stepID ?? "")]
            } else {
                _ = try record.machine.fail(token: "t-\(job.id)", at: now, error: ["code": "boom", "message": "broke"], retryable: false, jitter: 0)
            }
        }
        return try await runtime.runs.jobFinished(finished)
    }

    @Test func shipFromTicketGoesThroughItsJobsToApproval() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let definition = try await workflow(runtime, WorkflowTemplate.shipFromTicket.steps)
        let (id, state, outcome) = try await newRun(runtime, definition)
        #expect(state.machine.status == .running)
        var queued = outcome.queuedJobs
        for expected in ["orchestrator", "dev", "sre", "qa"] {
            let job = try #require(queued.first)
            #expect(job.stepID == expected)
            #expect(job.queue == expected)
            #expect(job.runID == id)
            queued = try #require(try await work(runtime, job)).queuedJobs
        }
        #expect(queued.isEmpty)
        let waiting = try #require(try await runtime.runs.state(of: id, workspaceID: "ws_a"))
        #expect(waiting.machine.status == .awaitingApproval)
        #expect(waiting.machine.steps.first?.output == ["done": "orchestrator"])
        #expect(waiting.machine.steps.first?.attempts == 1)
        let (approved, _) = try #require(try await runtime.runs.apply(.approve(role: .owner, note: nil), to: id))
        #expect(approved.machine.status == .succeeded)
        #expect(!runtime.runs.registry.isResident(id), "a finished run leaves memory")
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_other") == nil, "another workspace's run is absent")

        // The state is durable: passivated and brought back, it is the same.
        runtime.runs.registry.passivateAll()
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a") == approved)
        await runtime.close()
    }

    @Test func aDeadJobFailsItsRunAndCancelStopsJobs() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let steps = try WorkflowParser.parse(steps: JSON.parse(Array(#"[{"id":"a","kind":"task","queue":"qa"},{"id":"b","kind":"task","queue":"qb"}]"#.utf8))).get()
        let definition = try await workflow(runtime, steps)
        let (failing, _, outcome) = try await newRun(runtime, definition)
        let jobA = try #require(outcome.queuedJobs.first { $0.stepID == "a" })
        let jobB = try #require(outcome.queuedJobs.first { $0.stepID == "b" })
        _ = try await work(runtime, jobA, succeed: false)
        let failed = try #require(try await runtime.runs.state(of: failing, workspaceID: "ws_a"))
        #expect(failed.machine.status == .failed)
        #expect(failed.machine.failure?.stepID == "a")
        #expect(try await JobStore(store: runtime.store).job(workspaceID: "ws_a", id: jobB.id)?.machine.status == .cancelled,
                "the other step's job is cancelled with the run")

        let (cancelling, _, second) = try await newRun(runtime, definition)
        let (cancelled, _) = try #require(try await runtime.runs.apply(.cancel, to: cancelling))
        #expect(cancelled.machine.status == .cancelled)
        for job in second.queuedJobs {
            #expect(try await JobStore(store: runtime.store).job(workspaceID: "ws_a", id: job.id)?.machine.status == .cancelled)
        }
        await #expect(throws: RunRefusal.self) { try await runtime.runs.apply(.cancel, to: cancelling) }
        await runtime.close()
    }

    /// The `due_work` rows of `wait` steps: key and due time.
    private func dueWaits(_ runtime: TroupeRuntime) async throws -> [String: Timestamp] {
        let rows = try await runtime.store.reader.read { db in
            try db.query("SELECT key, due_at FROM due_work WHERE kind = 'run.wait'") { ($0.string(at: 0) ?? "", $0.int64(at: 1)) }
        }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.0, Timestamp(microsecondsSinceEpoch: $0.1)) })
    }

    @Test func waitStepsAreDueWorkThatTheSchedulerFiresOnce() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let steps = try WorkflowParser.parse(steps: JSON.parse(Array(#"[{"id":"nap","kind":"wait","duration_ms":60000}]"#.utf8))).get()
        let started = clock.now
        let (id, _, _) = try await newRun(runtime, try await workflow(runtime, steps))
        #expect(try await dueWaits(runtime) == [id + "/nap": started + .seconds(60)], "written with the run's start")
        clock.advance(by: .seconds(59))
        #expect(try await runtime.scheduler.fireDue() == 0, "not yet")
        clock.advance(by: .seconds(2))
        #expect(try await runtime.scheduler.fireDue() == 1)
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .succeeded)
        #expect(try await dueWaits(runtime).isEmpty, "removed by the transition it fired")
        #expect(try await runtime.scheduler.fireDue() == 0)
        await runtime.close()
    }

    /// A wait cancelled then retried ends at its new deadline, not at the first one, and a run
    /// of another workspace is answered nil and left alone.
    @Test func aRetriedWaitIsNotEndedByItsFirstTimer() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let steps = try WorkflowParser.parse(steps: JSON.parse(Array(#"[{"id":"nap","kind":"wait","duration_ms":60000}]"#.utf8))).get()
        let (id, _, _) = try await newRun(runtime, try await workflow(runtime, steps))
        #expect(try await runtime.runs.apply(.cancel, to: id, in: "ws_other") == nil)
        clock.advance(by: .seconds(10))
        _ = try await runtime.runs.apply(.cancel, to: id, in: "ws_a")
        #expect(try await dueWaits(runtime).isEmpty, "the cancel removed it")
        _ = try await runtime.runs.apply(.retry(fromStepID: nil), to: id)
        #expect(try await dueWaits(runtime) == [id + "/nap": clock.now + .seconds(60)])
        clock.advance(by: .seconds(55))  // past the first deadline, before the second
        #expect(try await runtime.scheduler.fireDue() == 0)
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .running)
        clock.advance(by: .seconds(10))
        #expect(try await runtime.scheduler.fireDue() == 1)
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .succeeded)
        await runtime.close()
    }

    @Test func recoveryHandsOverFinishedJobsAndTheirWaitsAreDue() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let steps = try WorkflowParser.parse(steps: JSON.parse(Array(#"""
            [{"id":"a","kind":"task"},{"id":"nap","kind":"wait","duration_ms":1000,"needs":["a"]}]
            """#.utf8))).get()
        let (id, _, outcome) = try await newRun(runtime, try await workflow(runtime, steps))
        let job = try #require(outcome.queuedJobs.first)
        // The job succeeds but its run never hears of it (as if the server died in between).
        let jobs = JobStore(store: runtime.store)
        let now = clock.now
        _ = try await jobs.claim(workspaceID: "ws_a", queues: ["default"], workerID: "w", token: "t", lease: .seconds(30), at: now)
        _ = try await jobs.update(workspaceID: "ws_a", id: job.id, at: now) { record throws(JobMachine.Refusal) in
            try record.machine.complete(token: "t", at: now)
        }
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.steps.first?.status == .running)
        runtime.runs.stop()
        let recovered = try await runtime.runs.recover(jobs: jobs)
        #expect(recovered.jobs == 1)
        #expect(try await jobs.unnotifiedRunJobs(limit: 10).isEmpty)
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.steps.last?.status == .running, "the wait started")
        #expect(try await dueWaits(runtime).keys.sorted() == [id + "/nap"])
        clock.advance(by: .seconds(5))
        #expect(try await runtime.scheduler.fireDue() == 1, "the overdue wait fired once")
        #expect(try await runtime.runs.state(of: id, workspaceID: "ws_a")?.machine.status == .succeeded)
        await runtime.close()
    }

    @Test func theActiveRunCapIsExact() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let definition = try await workflow(runtime, WorkflowTemplate.shipFromTicket.steps)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    do {
                        _ = try await newRun(runtime, definition, cap: 5)
                        return true
                    } catch is RunCapReached {
                        return false
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 5)
        let (_, planned, _) = try await newRun(runtime, definition, dryRun: true, cap: 5)
        #expect(planned.machine.status == .planned, "a dry run is not active")
        await runtime.close()
    }

    /// A run read again is not encoded again; a change of its state is.
    @Test func aRunsRenderingIsKeptUntilItChanges() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let (id, _, _) = try await newRun(runtime, try await workflow(runtime, WorkflowTemplate.shipFromTicket.steps))
        let renders = LockedBox(0)
        let render: @Sendable (String, RunState) -> [UInt8] = { id, state in
            renders.withLock { $0 += 1 }
            return Array("\(id) \(state.machine.status.rawValue)".utf8)
        }
        let first = try await runtime.runs.rendered(of: id, workspaceID: "ws_a", by: render)
        #expect(try await runtime.runs.rendered(of: id, workspaceID: "ws_a", by: render) == first)
        #expect(renders.value == 1)
        #expect(first.map { String(decoding: $0, as: UTF8.self) } == "\(id) running")
        #expect(try await runtime.runs.rendered(of: id, workspaceID: "ws_other", by: render) == nil, "another workspace's run is absent")
        _ = try await runtime.runs.apply(.cancel, to: id)
        let after = try await runtime.runs.rendered(of: id, workspaceID: "ws_a", by: render)
        #expect(after.map { String(decoding: $0, as: UTF8.self) } == "\(id) cancelled")
        #expect(renders.value == 2)
        #expect(try await runtime.runs.rendered(of: "run_missing", workspaceID: "ws_a", by: render) == nil)
        await runtime.close()
    }
}
