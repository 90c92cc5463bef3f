import TroupeCore

/// A load test as data (Benchmarks/scenarios/README.md documents the format): workspaces in
/// classes, each with a plan, API keys, a request mix with weights, workers, and the phases of
/// its arrival rate; and the workflows every workspace gets. Built only by ``ScenarioParser``,
/// so a value is valid.
public struct Scenario: Sendable, Equatable {
    /// Open loop: requests start on their schedule, answered or not. Closed loop: each of
    /// `connections` sends its next request when the last is answered (as `wrk` does).
    public enum Mode: Sendable, Equatable {
        case open(ArrivalSchedule.Process)
        case closed(connections: Int)
    }

    /// A workflow created in every workspace before the run.
    public struct Workflow: Sendable, Equatable {
        public let slug: String
        /// The `steps` array, sent to `POST /v1/workflows` as it is.
        public let steps: JSON
        /// Each run's deadline (`timeout_ms`), when it has one.
        public let timeoutMilliseconds: Int?

        /// The longest deadline of the workflow or its steps: how long after the load the last
        /// one can fall due.
        public var longestDeadlineMilliseconds: Int {
            let steps = (steps.arrayValue ?? []).compactMap { $0["kind"] == "approval" ? $0["timeout_ms"]?.intValue : nil }.map(Int.init)
            return ([timeoutMilliseconds ?? 0] + steps).max() ?? 0
        }
    }

    /// Schedules made in each workspace of a class before the run: `count` alike.
    public struct Schedule: Sendable, Equatable {
        public let workflow: String
        /// `every_s` or `cron`, exactly one.
        public let everySeconds: Int?
        public let cron: String?
        public let count: Int
        public let overlapPolicy: String
    }

    /// One kind of request in a mix, and its weight among the others.
    public struct Operation: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// `POST /v1/runs` of `workflow`; the run joins the workspace's known runs, and those
            /// to approve when the workflow has an approval step (`approvable`).
            case createRun(workflow: String, input: JSON, approvable: Bool)
            /// `GET /v1/runs/{id}` of one of the workspace's known runs.
            case getRun
            /// `GET /v1/runs?limit=`.
            case listRuns(limit: Int)
            /// `POST /v1/runs/{id}/approve` of the oldest run this workspace created and has not
            /// approved yet (its workflow's approval step must list `member`: a key approves as
            /// one); with none to approve, another request of the mix goes instead.
            case approve(note: String?)
            /// Any route: `path` and `body` may hold `{{run_id}}`, `{{workspace_id}}` and `{{n}}`
            /// (the request's number).
            case raw(method: String, path: String, body: String?)
        }

        public let kind: Kind
        public let weight: Int
    }

    /// Workspaces alike: how many, their plan, their keys, their mix and load.
    public struct WorkspaceClass: Sendable, Equatable {
        public let name: String
        public let workspaces: Int
        public let plan: String
        public let keys: Int
        public let mix: [Operation]
        /// Open loop: the arrival rate of each workspace of the class.
        public let phases: [LoadPhase]
        /// In an open scenario, a class that sends as fast as it is answered instead: this many
        /// closed-loop connections over its workspaces, for the scenario's length (a noisy
        /// neighbour at full blast, which no arrival rate can name without overrunning it).
        public let connections: Int?
        /// Workers per workspace, each claiming jobs of `queues` and completing them.
        public let workers: Int
        public let queues: [String]
        /// Event-stream subscribers per workspace, each held open for the run.
        public let subscribers: Int
        /// Schedules per workspace, made before the run (their fires are measured after it).
        public let schedules: [Schedule]
    }

    public let name: String
    public let mode: Mode
    /// Closed loop: how long it runs (open loop: its phases).
    public let seconds: Double
    public let workflows: [Workflow]
    public let classes: [WorkspaceClass]

    /// The same scenario without the class `name` (a noisy neighbour's absence, to compare);
    /// nil when it has no such class, or nothing with a length of its own would be left.
    public func without(class name: String) -> Scenario? {
        let kept = classes.filter { $0.name != name }
        guard kept.count < classes.count, !kept.isEmpty else { return nil }
        let seconds = if case .open = mode { kept.map { $0.phases.reduce(0) { $0 + $1.seconds } }.max() ?? 0 } else { self.seconds }
        guard seconds > 0 else { return nil }
        return Scenario(name: "\(self.name) without \(name)", mode: mode, seconds: seconds, workflows: workflows, classes: kept)
    }
}
