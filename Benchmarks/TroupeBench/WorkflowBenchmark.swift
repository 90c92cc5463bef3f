import Foundation
import TroupeCore

/// `troupe-bench workflow`: `--runs` ship-from-ticket runs driven end to end over HTTP — `--workers`
/// workers claim and complete the four task steps' jobs, an approver approves the runs that
/// wait — reporting completed runs/s, durable step transitions/s (four completions and one
/// approval per run, each committed before it is answered) and claim-to-complete latency.
/// `--claim-next`: each completion also claims the worker's next job (`claim_next`), one
/// request a step instead of two.
struct WorkflowBenchmark {
    let url: String?
    let runs: Int
    let workers: Int
    let claimNext: Bool

    init(arguments: Arguments) {
        url = arguments.string("url")
        runs = arguments.int("runs", default: 500)
        workers = arguments.int("workers", default: 16)
        claimNext = arguments.has("claim-next")
    }

    private struct Progress {
        var approved = 0
        var completions = 0
        var latencies: [Duration] = []
    }

    func run() async throws {
        let target = try await BenchTarget(url: url)
        let workspace = try await target.provision()
        _ = try await target.send("POST", "/v1/runs/\(workspace.runID)/cancel", token: workspace.key)
        let progress = LockedBox(Progress())
        let total = runs
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { creators in
                    for index in 0..<16 {
                        creators.addTask {
                            for _ in stride(from: index, to: total, by: 16) {
                                _ = try await target.send("POST", "/v1/runs", token: workspace.key, #"{"workflow":"ship-from-ticket"}"#)
                            }
                        }
                    }
                    try await creators.waitForAll()
                }
            }
            for index in 0..<workers {
                group.addTask { try await work(target, workspace, progress, worker: "w\(index)") }
            }
            group.addTask { try await approve(target, workspace, progress) }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let snapshot = progress.value
        let latencies = snapshot.latencies.sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))].milliseconds
        }
        let transitions = snapshot.completions + snapshot.approved
        print(jsonLine(.object(JSONObject([
            ("bench", "server.workflow"), ("runs", .int(Int64(total))), ("workers", .int(Int64(workers))), ("claim_next", .bool(claimNext)),
            ("seconds", .double((elapsed * 100).rounded() / 100)), ("runs_per_s", .double((Double(total) / elapsed).rounded())),
            ("step_transitions_per_s", .double((Double(transitions) / elapsed).rounded())),
            ("claim_to_complete_p50_ms", .double((percentile(0.5) * 100).rounded() / 100)),
            ("claim_to_complete_p99_ms", .double((percentile(0.99) * 100).rounded() / 100)),
        ]))))
        await target.close()
    }

    /// Claims and completes jobs until every run is approved.
    private func work(_ target: BenchTarget, _ workspace: BenchTarget.Workspace, _ progress: LockedBox<Progress>, worker: String) async throws {
        let queues = #"{"queues":["orchestrator","dev","sre","qa"],"worker_id":"\#(worker)","wait_ms":200}"#
        var next: JSON?
        while progress.withLock({ $0.approved }) < runs {
            let job = if let next, !next.isNull { next } else { try await target.send("POST", "/v1/jobs/claim", token: workspace.key, queues) }
            next = nil
            guard let id = job["id"]?.stringValue, let lease = job["lease_token"]?.stringValue else { continue }
            let claimed = ContinuousClock.now
            let body = claimNext ? #"{"lease_token":"\#(lease)","claim_next":\#(queues)}"# : #"{"lease_token":"\#(lease)"}"#
            let done = try await target.send("POST", "/v1/jobs/\(id)/complete", token: workspace.key, body)
            next = claimNext ? done["next_job"] : nil
            let latency = ContinuousClock.now - claimed
            progress.withLock {
                $0.completions += 1
                $0.latencies.append(latency)
            }
        }
    }

    /// Approves, as the owner, every run that waits (16 at a time), until all are.
    private func approve(_ target: BenchTarget, _ workspace: BenchTarget.Workspace, _ progress: LockedBox<Progress>) async throws {
        while progress.withLock({ $0.approved }) < runs {
            let waiting = try await target.send("GET", "/v1/runs?status=awaiting_approval&limit=200", token: workspace.session)
            let ids = waiting["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            if ids.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            // Sixteen at a time: one approval after another would be the benchmark's own limit.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, id) in ids.enumerated() {
                    if index >= 16 { try await group.next() }
                    group.addTask {
                        _ = try await target.send("POST", "/v1/runs/\(id)/approve", token: workspace.session)
                        progress.withLock { $0.approved += 1 }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
