import Synchronization
import TroupeCore
import TroupeSystem
import TroupeTransport

/// One run of a scenario against a server: its drivers, the progress line each second, and
/// the figures at the end.
///
/// Open loop: each workspace has an ``ArrivalSchedule``; a request starts when due (several at
/// once when the driver woke late), answered or not, and its latency is measured from when it
/// was due, so a slow server cannot slow the load down and hide its own latency. Requests in
/// flight are bounded (`maxInFlight`); one past the bound is not sent and counts as status 0.
/// Closed loop: `connections` drivers, shared out over the workspaces, each sending its next
/// request when the last is answered, latency measured from the send. Workers (either mode)
/// claim with a long poll and complete what they get.
///
/// Every driver prefers the client's event loop as its executor, so that an answer resumes its
/// driver on the loop thread that saw it, with no hop to another thread: the generator runs
/// on that one thread, as `wrk -t1` does, and leaves the other cores to the server.
public final class LoadRun: Sendable {
    public let scenario: Scenario
    public let recorder = LoadRecorder()
    private let workspaces: [LoadWorkspace]
    private let client: HTTPClient
    private let host: String
    private let port: Int
    private let maxInFlight: Int
    private let loop: EventLoop

    /// `loop`: the client's.
    public init(scenario: Scenario, workspaces: [LoadWorkspace], client: HTTPClient, loop: EventLoop, host: String, port: Int, maxInFlight: Int = 8_192) {
        self.loop = loop
        self.scenario = scenario
        self.workspaces = workspaces
        self.client = client
        self.host = host
        self.port = port
        self.maxInFlight = maxInFlight
    }

    /// Runs every driver to the end of the scenario; `progress` is called each second with the
    /// second's figures, and how many requests were due in it (open loop).
    public func run(progress: @escaping @Sendable (_ elapsed: Int, _ second: LoadRecorder.Tally, _ inFlight: Int, _ due: Double?) -> Void) async {
        let runEnd = RunEnd()
        await withTaskGroup(of: Void.self) { group in
            // Subscribers first, so that they see the events of the whole run; the run's clock
            // starts once they are all connected.
            for workspace in workspaces {
                for number in 0..<workspace.workspaceClass.subscribers {
                    let subscriber = EventStreamSubscriber(workspace: workspace, number: number)
                    guard let stream = await subscriber.open(host: host, port: port, loop: loop, recorder: recorder) else { continue }
                    group.addTask(executorPreference: loop) { await subscriber.read(stream, until: runEnd, recorder: self.recorder) }
                }
            }
            let start = ContinuousClock.now
            let end = start + .milliseconds(Int64(scenario.seconds * 1000))
            runEnd.set(end)
            group.addTask {
                var elapsed = 0
                while ContinuousClock.now < end {
                    do { try await Task.sleep(until: start + .seconds(elapsed + 1), clock: .continuous) } catch { return }
                    elapsed += 1
                    let (second, inFlight) = self.recorder.takeSecond()
                    progress(elapsed, second, inFlight, self.dueIn(second: elapsed))
                }
            }
            switch scenario.mode {
            case .open(let process):
                for workspaceClass in scenario.classes {
                    guard let connections = workspaceClass.connections else { continue }
                    let senders = workspaces.filter { $0.workspaceClass.name == workspaceClass.name }
                    for connection in 0..<connections where !senders.isEmpty {
                        group.addTask(executorPreference: loop) { await self.closedLoop(senders[connection % senders.count], until: end) }
                    }
                }
                for (index, workspace) in workspaces.enumerated() where !workspace.workspaceClass.mix.isEmpty && workspace.workspaceClass.connections == nil {
                    let schedule = ArrivalSchedule(phases: workspace.workspaceClass.phases, process: process, seed: UInt64(index + 1))
                    let offset = Double(index) / Double(max(workspaces.count, 1))
                    group.addTask(executorPreference: loop) { await self.openLoop(workspace, schedule: schedule, offset: offset, start: start) }
                }
            case .closed(let connections):
                let senders = workspaces.filter { !$0.workspaceClass.mix.isEmpty }
                for connection in 0..<connections where !senders.isEmpty {
                    group.addTask(executorPreference: loop) { await self.closedLoop(senders[connection % senders.count], until: end) }
                }
            }
            for workspace in workspaces {
                for worker in 0..<workspace.workspaceClass.workers {
                    group.addTask(executorPreference: loop) { await self.work(workspace, worker: worker, until: end) }
                }
            }
        }
    }

    /// Requests due in second `elapsed` (ending then) over every open-loop workspace.
    private func dueIn(second elapsed: Int) -> Double? {
        guard case .open = scenario.mode else { return nil }
        return workspaces.reduce(0) { sum, workspace in
            var before = 0.0
            var due = 0.0
            for phase in workspace.workspaceClass.phases {
                let from = Double(elapsed - 1) - before
                let to = Double(elapsed) - before
                due += phase.expectedArrivals(within: to) - phase.expectedArrivals(within: from)
                before += phase.seconds
            }
            return sum + due
        }
    }

    private func openLoop(_ workspace: LoadWorkspace, schedule: ArrivalSchedule, offset: Double, start: ContinuousClock.Instant) async {
        var schedule = schedule
        var first = true
        var shift = 0.0
        await withDiscardingTaskGroup { inFlight in
            while let at = schedule.next() {
                if first {
                    // Spread the workspaces' first arrivals over the first gap, not all at zero.
                    shift = at * offset
                    first = false
                }
                let due = start + .nanoseconds(Int64((at + shift) * 1e9))
                if due > .now {
                    do { try await Task.sleep(until: due, clock: .continuous) } catch { return }
                }
                guard let (route, request, operation) = workspace.nextRequest(host: host, port: port) else { return }
                let key = LoadRecorder.Key(workspaceClass: workspace.workspaceClass.name, route: route)
                guard recorder.start(limit: maxInFlight) else {
                    recorder.record(key, status: 0, latency: nil)
                    continue
                }
                inFlight.addTask(executorPreference: loop) {
                    await self.send(request, key: key, operation: operation, workspace: workspace, from: due)
                    self.recorder.finish()
                }
            }
        }
    }

    private func closedLoop(_ workspace: LoadWorkspace, until end: ContinuousClock.Instant) async {
        while ContinuousClock.now < end {
            guard let (route, request, operation) = workspace.nextRequest(host: host, port: port) else { return }
            let key = LoadRecorder.Key(workspaceClass: workspace.workspaceClass.name, route: route)
            await send(request, key: key, operation: operation, workspace: workspace, from: .now)
        }
    }

    /// Sends one request and records it; a created run is remembered for later reads.
    private func send(_ request: HTTPClientRequest, key: LoadRecorder.Key, operation: Scenario.Operation, workspace: LoadWorkspace,
                      from due: ContinuousClock.Instant) async {
        do {
            let response = try await client.send(request)
            recorder.record(key, status: response.status, latency: .now - due)
            if case .createRun(_, _, let approvable) = operation.kind, response.status == 201, let id = Self.id(in: response.body) {
                workspace.remember(run: id, approvable: approvable)
            }
        } catch {
            recorder.record(key, status: 0, latency: .now - due)
        }
    }

    /// A worker: claims a job of its queues (a one-second long poll), completes it, again.
    private func work(_ workspace: LoadWorkspace, worker: Int, until end: ContinuousClock.Instant) async {
        let key = workspace.keys[worker % workspace.keys.count]
        let headers: HTTPHeaders = ["Authorization": "Bearer \(key)", "Content-Type": "application/json"]
        let claim = JSON.object(JSONObject([
            ("queues", .array(workspace.workspaceClass.queues.map(JSON.string))), ("worker_id", .string("load-\(worker)")), ("wait_ms", 1000),
        ])).bytes
        let name = workspace.workspaceClass.name
        while ContinuousClock.now < end {
            let started = ContinuousClock.now
            let claimed: HTTPClientResponse
            do {
                claimed = try await client.send(HTTPClientRequest(method: "POST", host: host, port: port, target: "/v1/jobs/claim", headers: headers, body: claim))
            } catch {
                recorder.record(.init(workspaceClass: name, route: "POST /v1/jobs/claim"), status: 0, latency: .now - started)
                continue
            }
            // A 204 waited out its poll: its latency is the poll's, not the server's.
            if claimed.status == 204 { continue }
            let job = claimed.status == 200 ? try? JSON.parse(claimed.body) : nil
            guard let id = job?["id"]?.stringValue, let lease = job?["lease_token"]?.stringValue else {
                // Not 2xx, or a 200 without a job in it: either way not a claim.
                recorder.record(.init(workspaceClass: name, route: "POST /v1/jobs/claim"), status: claimed.status == 200 ? 0 : claimed.status,
                                latency: .now - started)
                continue
            }
            recorder.record(.init(workspaceClass: name, route: "POST /v1/jobs/claim"), status: 200, latency: .now - started)
            let completing = ContinuousClock.now
            let body = JSON.object(JSONObject([("lease_token", .string(lease)), ("output", ["by": "troupe-bench load"])])).bytes
            let status = (try? await client.send(HTTPClientRequest(method: "POST", host: host, port: port, target: "/v1/jobs/\(id)/complete",
                                                                   headers: headers, body: body)).status) ?? 0
            recorder.record(.init(workspaceClass: name, route: "POST /v1/jobs/{id}/complete"), status: status, latency: .now - completing)
        }
    }

    /// The `id` of a JSON answer, without parsing the rest more than needed.
    static func id(in body: [UInt8]) -> String? {
        (try? JSON.parse(body))?["id"]?.stringValue
    }
}
