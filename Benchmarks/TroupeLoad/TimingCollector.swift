import TroupeCore
import TroupeTransport

/// After a run, reads back through the API what happened on the server's clock: each
/// schedule's fires (a run's `created_at` against its `scheduled_at`: the lag; fire times with
/// two runs; fire times of an `every_s` schedule with none) and each deadline (a run failed with
/// `run_timeout` against its `deadline_at`; one failed with `approval_timeout` against its
/// step's start plus `timeout_ms`), and runs still unfinished past their deadline.
public struct TimingCollector: Sendable {
    /// What was read back.
    public struct Figures: Sendable {
        public var fireLag = LatencyHistogram()
        public var duplicateFires = 0
        public var missedFires = 0
        public var deadlineLag = LatencyHistogram()
        public var overdue = 0

        public var json: JSON {
            func histogram(_ h: LatencyHistogram) -> JSON {
                .object(JSONObject([("count", .int(Int64(h.count))), ("p50_ms", .double(h.milliseconds(atQuantile: 0.5))),
                                    ("p99_ms", .double(h.milliseconds(atQuantile: 0.99))), ("max_ms", .double(Double(h.maximum) / 1e6))]))
            }
            return .object(JSONObject([
                ("fires", histogram(fireLag)), ("duplicate_fires", .int(Int64(duplicateFires))), ("missed_fires", .int(Int64(missedFires))),
                ("deadlines", histogram(deadlineLag)), ("overdue_unfinished", .int(Int64(overdue))),
            ]))
        }
    }

    let api: LoadAPI

    public init(client: HTTPClient, host: String, port: Int) {
        api = LoadAPI(client: client, host: host, port: port)
    }

    public func collect(_ scenario: Scenario, workspaces: [LoadWorkspace]) async throws -> Figures {
        var figures = Figures()
        let timeouts = Dictionary(scenario.workflows.map { workflow in
            (workflow.slug, Dictionary((workflow.steps.arrayValue ?? []).compactMap { step in
                step["id"]?.stringValue.flatMap { id in step["timeout_ms"]?.intValue.map { (id, $0) } }
            }, uniquingKeysWith: { first, _ in first }))
        }, uniquingKeysWith: { first, _ in first })
        let deadlines = scenario.workflows.contains { $0.longestDeadlineMilliseconds > 0 }
        for workspace in workspaces {
            guard let key = workspace.keys.first else { continue }
            if !workspace.workspaceClass.schedules.isEmpty {
                for schedule in try await all("/v1/schedules", key: key) {
                    guard let id = schedule["id"]?.stringValue else { continue }
                    fires(try await all("/v1/runs?schedule_id=\(id)", key: key), every: schedule["every_s"]?.intValue, into: &figures)
                }
            }
            if deadlines {
                for run in try await all("/v1/runs?status=failed", key: key) { deadline(run, timeouts: timeouts, into: &figures) }
                // Unfinished a second past its deadline (same machine, same clock): one that did not fire.
                let now = SystemClock().now
                for status in ["running", "awaiting_approval", "queued"] {
                    for run in try await all("/v1/runs?status=\(status)", key: key) {
                        if let due = run["deadline_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)), due + .seconds(1) < now { figures.overdue += 1 }
                    }
                }
            }
        }
        return figures
    }

    private func fires(_ runs: [JSON], every: Int64?, into figures: inout Figures) {
        var times: [Int64] = []
        for run in runs {
            guard let scheduled = run["scheduled_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
                let created = run["created_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else { continue }
            figures.fireLag.record(created - scheduled)
            times.append(scheduled.microsecondsSinceEpoch)
        }
        let distinct = Set(times).sorted()
        figures.duplicateFires += times.count - distinct.count
        if let every, every > 0 {
            let period = every * 1_000_000
            for (earlier, later) in zip(distinct, distinct.dropFirst()) { figures.missedFires += Int(max(0, (later - earlier) / period - 1)) }
        }
    }

    private func deadline(_ run: JSON, timeouts: [String: [String: Int64]], into figures: inout Figures) {
        func time(_ value: JSON?) -> Timestamp? { value?.stringValue.flatMap(Timestamp.init(rfc3339:)) }
        switch run["failure"]?["code"]?.stringValue {
        case "run_timeout":
            guard let due = time(run["deadline_at"]), let failed = time(run["updated_at"]) else { return }
            figures.deadlineLag.record(failed - due)
        case "approval_timeout":
            guard let stepID = run["failure"]?["step_id"]?.stringValue, let workflow = run["workflow"]?.stringValue,
                let timeout = timeouts[workflow]?[stepID],
                let step = run["steps"]?.arrayValue?.first(where: { $0["id"]?.stringValue == stepID }),
                let started = time(step["started_at"]), let finished = time(step["finished_at"]) else { return }
            figures.deadlineLag.record(finished - (started + .milliseconds(timeout)))
        default:
            return
        }
    }

    /// Every item of a list route, page by page.
    private func all(_ path: String, key: String) async throws -> [JSON] {
        var items: [JSON] = []
        var cursor: String?
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            let page = try await api.send("GET", path + separator + "limit=200" + (cursor.map { "&cursor=" + $0 } ?? ""), token: key, body: nil,
                                          during: "reading back")
            items += page["data"]?.arrayValue ?? []
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil
        return items
    }
}
