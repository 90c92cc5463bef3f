import Synchronization
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct JournalTests {
    private struct Refused: Error {}

    private func draft(_ workspace: String, _ type: EventType = .runCreated) -> EventDraft {
        EventDraft(type, workspaceID: workspace, runID: nil, runCreatedAt: nil, data: [:])
    }

    private func storedSeqs(_ runtime: TroupeRuntime, _ workspace: String) async throws -> [Int64] {
        try await runtime.store.events.events(workspaceID: workspace, after: 0, limit: 100_000).map(\.seq)
    }

    @Test func eachWorkspaceCountsItsEventsFromOneWithNoGapThoughChangesFailAndRunConcurrently() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let journal = runtime.store.journal
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                let workspace = index % 2 == 0 ? "ws_a" : "ws_b"
                let fails = index % 7 == 0
                let events = [draft(workspace), draft(workspace, .runStarted)]
                group.addTask {
                    do {
                        try await journal.commit(Change(.system) { transaction in
                            for event in events { transaction.emit(event) }
                            if fails { throw Refused() }  // its savepoint, events included, rolls back
                        })
                    } catch is Refused {}
                }
            }
            try await group.waitForAll()
        }
        let committedPerWorkspace = (0..<200).filter { $0 % 7 != 0 }.count  // changes that did not fail, both workspaces
        let a = try await storedSeqs(runtime, "ws_a")
        let b = try await storedSeqs(runtime, "ws_b")
        #expect(a == Array(1...Int64(a.count)))
        #expect(b == Array(1...Int64(b.count)))
        #expect(a.count + b.count == 2 * committedPerWorkspace)
        await runtime.close()
    }

    @Test func theBusGetsEveryCommittedEventInSeqOrderAndNoneOfAFailedChange() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let journal = runtime.store.journal
        let subscription = try journal.bus.subscribe(workspaceID: "ws_a")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                let fails = index % 10 == 3
                let event = draft("ws_a")
                group.addTask {
                    do {
                        try await journal.commit(Change(.system) { transaction in
                            transaction.emit(event)
                            if fails { throw Refused() }
                        })
                    } catch is Refused {}
                }
            }
            try await group.waitForAll()
        }
        var seen: [Int64] = []
        while seen.count < 90 {
            guard case .events(let batch) = await subscription.next() else { Issue.record("the subscription ended early"); break }
            seen += batch.map(\.seq)
        }
        #expect(seen == Array(1...90))
        subscription.cancel()
        #expect(journal.bus.subscriberCount(workspaceID: "ws_a") == 0)
        await runtime.close()
    }

    @Test func anIdempotentAnswerCommitsWithTheFirstChangeThatTakesItOrNotAtAll() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let journal = runtime.store.journal
        let writes = LockedBox(0)
        let answer = IdempotentAnswer { _ in writes.withLock { $0 += 1 } }
        let origin = ChangeOrigin(principal: nil, requestID: "req_1", ip: nil, answer: answer)
        await #expect(throws: Refused.self) {
            try await journal.commit(Change(origin) { _ in throw Refused() })
        }
        #expect(!answer.committed, "the change failed: its answer went with it, and may go with the next")
        try await journal.commit(origin) { _ in }
        #expect(answer.committed)
        try await journal.commit(origin) { _ in }
        #expect(writes.value == 1, "a second change of the same request keeps the one answer")

        let failing = IdempotentAnswer { db in try db.execute("INSERT INTO missing_table VALUES (1)") }
        let events = try journal.bus.subscribe(workspaceID: "ws_a")
        await #expect(throws: SQLiteError.self) {
            try await journal.commit(Change(ChangeOrigin(principal: nil, requestID: nil, ip: nil, answer: failing)) { transaction in
                transaction.emit(self.draft("ws_a"))
            })
        }
        #expect(try await storedSeqs(runtime, "ws_a").isEmpty, "an answer that cannot be stored rolls its change back")
        events.cancel()
        await runtime.close()
    }

    @Test func aRunsTransitionsAreItsEventsInOrder() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let workflow = try await WorkflowStore(store: runtime.store).create(
            id: RandomID.make(prefix: "wf"), workspaceID: "ws_a", slug: "ship", name: "Ship", steps: WorkflowTemplate.shipFromTicket.steps,
            costCapUSD: nil, at: runtime.clock.now)
        let id = RandomID.make(prefix: "run")
        let state = RunState(workspace: "ws_a", workflow: workflow, ticket: nil, env: nil, input: [:], metadata: [:], dryRun: false,
                             createdBy: ["type": "user", "id": "usr_1"], at: runtime.clock.now)
        var queued = try await runtime.runs.create(id: id, state: state, activeRunCap: nil).1.queuedJobs
        let jobs = JobStore(store: runtime.store)
        while let job = queued.first {
            let now = runtime.clock.now
            _ = try await jobs.claim(workspaceID: "ws_a", queues: [job.queue], workerID: "w", token: "t", lease: .seconds(30), at: now)
            let done = try await jobs.update(workspaceID: "ws_a", id: job.id, at: now) { record throws(JobMachine.Refusal) in
                try record.machine.complete(token: "t", at: now)
            }
            queued = try await runtime.runs.jobFinished(done)?.queuedJobs ?? []
        }
        _ = try await runtime.runs.apply(.approve(role: .owner, note: nil), to: id)
        let events = try await runtime.store.events.events(workspaceID: "ws_a", run: EventLog.RunKey(id: id, createdAt: state.createdAt), after: 0, limit: 100)
        var expected: [EventType] = [.runCreated, .runStarted, .stepStarted]
        for _ in 0..<3 { expected += [.stepSucceeded, .stepStarted] }
        expected += [.stepSucceeded, .stepWaiting, .runAwaitingApproval, .runApproved, .stepSucceeded, .runSucceeded]
        #expect(events.map(\.type) == expected)
        #expect(events.map(\.seq) == Array(1...Int64(expected.count)))
        #expect(events.allSatisfy { $0.runID == id && $0.workspaceID == "ws_a" })
        #expect(events[2].data["step_id"] == "orchestrator")
        await runtime.close()
    }

    @Test func aJobThatDiesIsAnEvent() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let jobs = JobStore(store: runtime.store)
        let now = runtime.clock.now
        let job = JobRecord(id: "job_1", workspaceID: "ws_a", queue: "q", runID: nil, stepID: nil, input: [:], maxAttempts: 1,
                            timeoutMilliseconds: 1000, at: now)
        try await jobs.insert(job)
        _ = try await jobs.claim(workspaceID: "ws_a", queues: ["q"], workerID: "w", token: "t", lease: .seconds(30), at: now)
        _ = try await jobs.update(workspaceID: "ws_a", id: "job_1", at: now) { record throws(JobMachine.Refusal) in
            _ = try record.machine.fail(token: "t", at: now, error: ["code": "x", "message": "y"], retryable: false, jitter: 0)
        }
        let events = try await runtime.store.events.events(workspaceID: "ws_a", after: 0, limit: 10)
        #expect(events.map(\.type) == [.jobDead])
        #expect(events.first?.data["job_id"] == "job_1")
        await runtime.close()
    }
}
