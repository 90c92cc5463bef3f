import TroupeCore

/// A run's figures as the reader gets them: a Markdown summary for stdout, and the JSON report
/// (`--json FILE`) whose schema Benchmarks/scenarios/README.md documents (`schema_version` 1).
public struct LoadReport: Sendable {
    public let scenario: Scenario
    public let target: String
    public let seconds: Double
    public let groups: [LoadRecorder.Key: LoadRecorder.Tally]
    /// The server's CPU and peak RSS over the run, when it was measured.
    public let server: (cpuSeconds: Double, peakResidentBytes: Int, inProcess: Bool)?
    /// Schedules' fires and deadlines read back after the run, when the scenario has them.
    public let timing: TimingCollector.Figures?

    public init(scenario: Scenario, target: String, seconds: Double, groups: [LoadRecorder.Key: LoadRecorder.Tally],
                server: (cpuSeconds: Double, peakResidentBytes: Int, inProcess: Bool)?, timing: TimingCollector.Figures? = nil) {
        self.scenario = scenario
        self.target = target
        self.seconds = seconds
        self.groups = groups
        self.server = server
        self.timing = timing
    }

    static let quantiles: [(String, Double)] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)]

    /// Every group's requests and errors together.
    public var total: LoadRecorder.Tally {
        groups.values.reduce(into: LoadRecorder.Tally()) { $0.merge($1) }
    }

    public var markdown: String {
        var lines = ["## troupe-bench load: \(scenario.name)", "",
                     "\(modeText) against \(target), \(format(seconds)) s.", "",
                     "Latency is from when a request was due (open loop) or sent (closed loop); a request not sent (past the in-flight bound) counts as \"no answer\" and has none. A claim's latency includes its long poll's wait for a job.", "",
                     "| class | route | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |",
                     "|---|---|---|---|---|---|---|---|---|---|"]
        for (key, tally) in groups.sorted(by: { $0.key < $1.key }) {
            lines.append(row(key.workspaceClass, key.route, tally))
        }
        lines.append(row("all", "all", total))
        if let server {
            let share = server.cpuSeconds / max(seconds, 0.001)
            lines += ["", "Server: \(format(server.cpuSeconds)) CPU seconds (\(format(share * 100)) % of a core), peak RSS \(format(Double(server.peakResidentBytes) / 1_048_576)) MiB"
                      + (server.inProcess ? " — in this process, so the load generator's own CPU is in it." : ".")]
        }
        if let timing {
            func cells(_ h: LatencyHistogram) -> String {
                "\(h.count) | \(format(h.milliseconds(atQuantile: 0.5))) | \(format(h.milliseconds(atQuantile: 0.99))) | \(format(Double(h.maximum) / 1e6))"
            }
            lines += ["", "Read back after the run (the server's clock: a fire's run created after its scheduled time; a deadline's failure after its time):", "",
                      "| what | count | p50 ms | p99 ms | max ms | |", "|---|---|---|---|---|---|",
                      "| schedule fires | \(cells(timing.fireLag)) | \(timing.duplicateFires) twice, \(timing.missedFires) missed |",
                      "| deadlines | \(cells(timing.deadlineLag)) | \(timing.overdue) unfinished past their deadline |"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: JSON {
        var object = JSONObject([
            ("schema_version", 1), ("scenario", .string(scenario.name)), ("mode", .string(modeName)), ("target", .string(target)),
            ("seconds", .double(seconds)), ("total", tallyJSON(total)),
            ("groups", .array(groups.sorted(by: { $0.key < $1.key }).map { key, tally in
                var group = tallyJSON(tally).objectValue ?? JSONObject()
                group["class"] = .string(key.workspaceClass)
                group["route"] = .string(key.route)
                return .object(group)
            })),
        ])
        object["server"] = server.map { server in
            .object(JSONObject([("cpu_seconds", .double(server.cpuSeconds)), ("cpu_share_of_a_core", .double(server.cpuSeconds / max(seconds, 0.001))),
                                ("peak_rss_bytes", .int(Int64(server.peakResidentBytes))), ("in_process", .bool(server.inProcess))]))
        } ?? .null
        object["timing"] = timing?.json ?? .null
        return .object(object)
    }

    private var modeName: String {
        if case .closed = scenario.mode { "closed" } else { "open" }
    }

    private var modeText: String {
        switch scenario.mode {
        case .open(let process): "Open loop (\(process.rawValue) arrivals)"
        case .closed(let connections): "Closed loop, \(connections) connections,"
        }
    }

    private func row(_ workspaceClass: String, _ route: String, _ tally: LoadRecorder.Tally) -> String {
        let errors = tally.statuses.filter { !(200..<300).contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.value) × \($0.key == 0 ? "no answer" : String($0.key))" }.joined(separator: ", ")
        let latencies = (Self.quantiles.map { tally.latency.milliseconds(atQuantile: $0.1) } + [Double(tally.latency.maximum) / 1e6]).map(format)
        return "| \(workspaceClass) | \(route) | \(tally.requests) | \(format(Double(tally.requests) / max(seconds, 0.001))) | "
            + latencies.joined(separator: " | ") + " | \(errors.isEmpty ? "0" : errors) |"
    }

    private func tallyJSON(_ tally: LoadRecorder.Tally) -> JSON {
        var latency = JSONObject(Self.quantiles.map { ($0.0, JSON.double(tally.latency.milliseconds(atQuantile: $0.1))) })
        latency["max"] = .double(Double(tally.latency.maximum) / 1e6)
        latency["mean"] = .double(tally.latency.mean / 1e6)
        return .object(JSONObject([
            ("requests", .int(Int64(tally.requests))), ("rate", .double(Double(tally.requests) / max(seconds, 0.001))),
            ("errors", .int(Int64(tally.errors))), ("latency_ms", .object(latency)),
            ("statuses", .object(JSONObject(tally.statuses.sorted { $0.key < $1.key }.map { (String($0.key), JSON.int(Int64($0.value))) }))),
        ]))
    }

    private func format(_ value: Double) -> String {
        if value >= 100, value < 1e15 { return String(Int(value.rounded())) }
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }
}
