import Foundation
import Glibc
import Synchronization
import TroupeCore
import TroupeLoad
import TroupeSystem
import TroupeTransport

/// `troupe-bench load`: a scenario (built-in or a file) against `--url`, or against a server it
/// starts in this process on a temporary database. Wrong input exits 2 with every problem
/// named; a failure during the run exits 1.
struct LoadCommand {
    let arguments: Arguments

    /// The in-process server lifts the plans' request limits, the per-key limit and the per-address login limits, so that
    /// a scenario measures the server, not its limiter (a `--url` server keeps its own).
    static let config = #"""
        {"signup": true, "api_key_requests_per_minute": null, "login_address_limits": null,
         "plans": {"starter": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null},
                   "growth": {"requests_per_minute": null, "requests_per_day": null, "active_runs": null},
                   "enterprise": {"active_runs": null}}}
        """#

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    func run() async throws {
        let scenario = try scenario()
        let url = arguments.string("url")
        if let url, !arguments.has("allow-remote"), !Self.isLoopback(url) {
            throw UsageError(description: "--url \(url) is not loopback; pass --allow-remote to load another machine")
        }
        let maxInFlight = try number("max-in-flight", in: 1...1_000_000, default: 8_192)
        let serverPID = try arguments.string("server-pid").map { text -> Int32 in
            guard let pid = Int32(text), pid > 0 else { throw UsageError(description: "--server-pid must be a process id") }
            return pid
        }
        let target = try await BenchTarget(url: url, config: Self.config)
        do {
            try await drive(scenario, target: target, url: url, serverPID: serverPID, maxInFlight: maxInFlight)
        } catch {
            await target.close()
            throw error
        }
        await target.close()
    }

    /// Provisions, runs, and reports, against `target` (closed by the caller).
    private func drive(_ scenario: Scenario, target: BenchTarget, url: String?, serverPID: Int32?, maxInFlight: Int) async throws {
        let host = url.flatMap { URLComponents(string: $0)?.host } ?? "127.0.0.1"
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.maxIdlePerHost = maxInFlight
        let loop = EventLoop.shared
        let client = HTTPClient(configuration: clientConfiguration, loop: loop)
        let workspaceCount = scenario.classes.reduce(0) { $0 + $1.workspaces }
        log("provisioning \(workspaceCount) workspaces on \(target.base)…")
        let workspaces = try await LoadProvisioner(client: client, host: host, port: target.port)
            .provision(scenario, runTag: RandomID.make(prefix: "l").lowercased())
        let measured = serverPID ?? (url == nil ? getpid() : nil)
        let before = measured.flatMap(ProcessUsage.of(pid:))
        let peak = Mutex(before?.residentBytes ?? 0)
        log("running \(scenario.name) for \(Int(scenario.seconds)) s")
        let run = LoadRun(scenario: scenario, workspaces: workspaces, client: client, loop: loop, host: host, port: target.port, maxInFlight: maxInFlight)
        let started = ContinuousClock.now
        await run.run { elapsed, second, inFlight, due in
            if let measured, let now = ProcessUsage.of(pid: measured) { peak.withLock { $0 = max($0, now.residentBytes) } }
            let target = due.map { " (\(Int($0.rounded())) due by the phases)" } ?? ""
            log("\(elapsed) s: \(second.requests) req/s\(target), p50 \(format(second.latency.milliseconds(atQuantile: 0.5))) ms, "
                + "p99 \(format(second.latency.milliseconds(atQuantile: 0.99))) ms, \(second.errors) errors, \(inFlight) in flight")
        }
        let seconds = (ContinuousClock.now - started).seconds
        var server: (cpuSeconds: Double, peakResidentBytes: Int, inProcess: Bool)?
        if let measured, let before, let after = ProcessUsage.of(pid: measured) {
            server = (after.cpuSeconds - before.cpuSeconds, max(peak.withLock { $0 }, after.residentBytes), url == nil)
        }
        var timing: TimingCollector.Figures?
        let settle = scenario.workflows.map(\.longestDeadlineMilliseconds).max() ?? 0
        if settle > 0 || scenario.classes.contains(where: { !$0.schedules.isEmpty }) {
            if settle > 0 {
                log("waiting \(settle / 1000 + 2) s for the last deadlines")
                try await Task.sleep(for: .milliseconds(settle + 2_000))
            }
            log("reading back fires and deadlines…")
            timing = try await TimingCollector(client: client, host: host, port: target.port).collect(scenario, workspaces: workspaces)
        }
        let report = LoadReport(scenario: scenario, target: target.base, seconds: seconds, groups: run.recorder.groups, server: server, timing: timing)
        print(report.markdown, terminator: "")
        if let path = arguments.string("json") {
            guard FileManager.default.createFile(atPath: path, contents: Data(report.json.bytes + [0x0a])) else {
                throw UsageError(description: "--json \(path) could not be written")
            }
        }
    }

    /// The scenario named by `--scenario` (a built-in, or a file), less the `--without` class.
    private func scenario() throws -> Scenario {
        guard let name = arguments.string("scenario"), !name.isEmpty else {
            throw UsageError(description: "--scenario is required: \(BuiltInScenarios.all.keys.sorted().joined(separator: ", ")), or a file")
        }
        let bytes: [UInt8]
        if let builtIn = BuiltInScenarios.all[name] {
            bytes = Array(builtIn.utf8)
        } else if let data = FileManager.default.contents(atPath: name) {
            bytes = Array(data)
        } else {
            throw UsageError(description: "--scenario \(name) is neither a built-in (\(BuiltInScenarios.all.keys.sorted().joined(separator: ", "))) nor a readable file")
        }
        var scenario: Scenario
        switch ScenarioParser.parse(bytes) {
        case .success(let parsed): scenario = parsed
        case .failure(let list):
            throw UsageError(description: "scenario \(name) is not valid:\n" + list.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        if let without = arguments.string("without") {
            guard let dropped = scenario.without(class: without) else {
                throw UsageError(description: "--without \(without): the scenario has no such class (\(scenario.classes.map(\.name).joined(separator: ", ")))")
            }
            scenario = dropped
        }
        return scenario
    }

    private func number(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = arguments.string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(description: "--\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `127.0.0.0/8`, `::1` or `localhost`.
    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    private func format(_ value: Double) -> String { String((value * 100).rounded() / 100) }
}

private func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
