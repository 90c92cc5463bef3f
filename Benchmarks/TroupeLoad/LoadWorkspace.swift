import Synchronization
import TroupeCore
import TroupeTransport

/// One workspace the run made, and what its requests need: its keys (used in turn), the runs
/// it knows of (its seed run and those it created, the last 256), and a generator of its own
/// for picking from its class's mix.
public final class LoadWorkspace: Sendable {
    public let id: String
    public let workspaceClass: Scenario.WorkspaceClass
    public let keys: [String]
    private struct State {
        var runs: [String] = []
        var nextRun = 0
        /// Runs created and not yet approved, oldest first (at most ``knownRuns``).
        var unapproved: [String] = []
        var sent = 0
        var generator: SplitMix64
    }

    private let state: Mutex<State>
    static let knownRuns = 256

    init(id: String, workspaceClass: Scenario.WorkspaceClass, keys: [String], seedRun: String?, seed: UInt64) {
        self.id = id
        self.workspaceClass = workspaceClass
        self.keys = keys
        state = Mutex(State(runs: seedRun.map { [$0] } ?? [], generator: SplitMix64(seed: seed)))
    }

    /// A run created by this workspace's load, for later reads, and approval when it will await one.
    func remember(run id: String, approvable: Bool) {
        state.withLock { state in
            if approvable, state.unapproved.count < Self.knownRuns { state.unapproved.append(id) }
            if state.runs.count < Self.knownRuns {
                state.runs.append(id)
            } else {
                state.runs[state.nextRun] = id
                state.nextRun = (state.nextRun + 1) % Self.knownRuns
            }
        }
    }

    /// The next request of the mix: its route (for the report) and the request; nil when the
    /// mix is empty.
    func nextRequest(host: String, port: Int) -> (route: String, request: HTTPClientRequest, operation: Scenario.Operation)? {
        let (operation, number, run, key) = state.withLock { state -> (Scenario.Operation?, Int, String?, String) in
            state.sent += 1
            var operation = pick(&state.generator)
            var run = state.runs.isEmpty ? nil : state.runs[Int(state.generator.next() % UInt64(state.runs.count))]
            if case .approve? = operation?.kind {
                if state.unapproved.isEmpty {
                    operation = workspaceClass.mix.first { if case .approve = $0.kind { false } else { true } }
                } else {
                    run = state.unapproved.removeFirst()
                }
            }
            return (operation, state.sent, run, keys[state.sent % keys.count])
        }
        guard let operation else { return nil }
        var headers: HTTPHeaders = ["Authorization": "Bearer \(key)"]
        let method: String
        let target: String
        let route: String
        var body: [UInt8] = []
        switch operation.kind {
        case .createRun(let workflow, let input, _):
            (method, target, route) = ("POST", "/v1/runs", "POST /v1/runs")
            body = JSON.object(JSONObject([("workflow", .string(workflow)), ("input", input)])).bytes
        case .getRun:
            (method, target, route) = ("GET", "/v1/runs/\(run ?? "none")", "GET /v1/runs/{id}")
        case .listRuns(let limit):
            (method, target, route) = ("GET", "/v1/runs?limit=\(limit)", "GET /v1/runs")
        case .approve(let note):
            (method, target, route) = ("POST", "/v1/runs/\(run ?? "none")/approve", "POST /v1/runs/{id}/approve")
            body = JSON.object(JSONObject([("note", note.map(JSON.string) ?? .null)])).bytes
        case .raw(let rawMethod, let path, let template):
            method = rawMethod
            route = "\(rawMethod) \(path)"
            target = render(path, number: number, run: run)
            body = template.map { Array(render($0, number: number, run: run).utf8) } ?? []
        }
        if !body.isEmpty { headers.set("Content-Type", "application/json") }
        return (route, HTTPClientRequest(method: method, host: host, port: port, target: target, headers: headers, body: body), operation)
    }

    /// An operation of the mix, by weight.
    private func pick(_ generator: inout SplitMix64) -> Scenario.Operation? {
        let total = workspaceClass.mix.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return nil }
        var ticket = Int(generator.next() % UInt64(total))
        return workspaceClass.mix.first { operation in
            defer { ticket -= operation.weight }
            return ticket < operation.weight
        }
    }

    private func render(_ template: String, number: Int, run: String?) -> String {
        template.replacing("{{run_id}}", with: run ?? "none")
            .replacing("{{workspace_id}}", with: id)
            .replacing("{{n}}", with: String(number))
    }
}
