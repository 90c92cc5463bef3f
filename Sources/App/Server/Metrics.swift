import TroupeActors
import TroupeCore
import TroupeTransport
import TroupePersistence
import TroupeSystem

/// Request counters and a latency histogram, rendered with the runtime's counters as
/// Prometheus text (`GET /metrics`).
final class Metrics: Sendable {
    static let latencyBoundsSeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5]

    /// A request counter's labels; rendered only when `/metrics` is read.
    private struct RequestLabels: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    private struct State {
        var requests: [RequestLabels: Int] = [:]
        var buckets = [Int](repeating: 0, count: Metrics.latencyBoundsSeconds.count + 1)
        var latencySum = 0.0
        var count = 0
        var rateLimited = 0
    }

    /// Runs and jobs by status, as last counted by ``refreshWorkload(runs:jobs:)`` in the
    /// background: a scrape reads them, it never scans a table.
    private let workload = LockedBox<(runs: [String: Int64], jobs: [String: Int64])>(([:], [:]))

    /// Due work by kind, and how late the earliest row is (0 when none is overdue), as last
    /// counted by ``refreshDueWork(byKind:overdueSeconds:)``.
    private let dueWork = LockedBox<(byKind: [String: Int64], overdueSeconds: Double)>(([:], 0))

    private let state = LockedBox(State())

    /// The methods of RFC 9110 §9 and PATCH (RFC 5789), the API's; any other is `other`, so
    /// that a client cannot grow the label set.
    static let methodLabels: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    func record(route: String, method: String, status: Int, latency: Duration) {
        let seconds = Double(latency.nanoseconds) / 1e9
        // Bounded labels: a route pattern or `unmatched` (the router's), a known method or
        // `other`, a status the server itself answered.
        let key = RequestLabels(method: Self.methodLabels.contains(method) ? method : "other", route: route, status: status)
        state.withLock { state in
            state.requests[key, default: 0] += 1
            let index = Self.latencyBoundsSeconds.firstIndex { seconds <= $0 } ?? Self.latencyBoundsSeconds.count
            state.buckets[index] += 1
            state.latencySum += seconds
            state.count += 1
            if status == 429 { state.rateLimited += 1 }
        }
    }

    /// Keeps the latest counts of runs and jobs by status.
    func refreshWorkload(runs: [String: Int64], jobs: [String: Int64]) {
        workload.withLock { $0 = (runs, jobs) }
    }

    /// Keeps the latest count of due work by kind and the earliest row's lateness.
    func refreshDueWork(byKind: [String: Int64], overdueSeconds: Double) {
        dueWork.withLock { $0 = (byKind, overdueSeconds) }
    }

    /// The Prometheus text exposition (version 0.0.4).
    func render(registry: RegistryStatistics, residentRuns: Int, connections: HTTPServer.Statistics, writer: GroupCommitWriter.Statistics,
                setAside: [String: Int], backgroundErrors: [String: Int], eventSubscribers: Int,
                sandboxes: (live: Int, isolation: [String]), fairShare: (deferred: Int, refused: Int)) -> String {
        let snapshot = state.value
        var out = "# HELP troupe_http_requests_total Requests by route and status.\n# TYPE troupe_http_requests_total counter\n"
        let counters = snapshot.requests.map { labels, count in
            ("method=\"\(labels.method)\",route=\"\(labels.route)\",status=\"\(labels.status)\"", count)
        }
        for (labels, count) in counters.sorted(by: { $0.0 < $1.0 }) {
            out += "troupe_http_requests_total{\(labels)} \(count)\n"
        }
        out += "# HELP troupe_http_request_duration_seconds Request latency.\n# TYPE troupe_http_request_duration_seconds histogram\n"
        var cumulative = 0
        for (index, bound) in Self.latencyBoundsSeconds.enumerated() {
            cumulative += snapshot.buckets[index]
            out += "troupe_http_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "troupe_http_request_duration_seconds_bucket{le=\"+Inf\"} \(snapshot.count)\n"
        out += "troupe_http_request_duration_seconds_sum \(snapshot.latencySum)\n"
        out += "troupe_http_request_duration_seconds_count \(snapshot.count)\n"
        func gauge(_ name: String, _ help: String, _ type: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        gauge("troupe_open_connections", "Open HTTP connections.", "gauge", "\(connections.openConnections)")
        gauge("troupe_refused_connections_total", "Connections closed at once: the server had its most open.", "counter",
              "\(connections.refusedConnections)")
        gauge("troupe_unwatchable_connections_total", "Connections closed at once: their event loop could not watch them.", "counter",
              "\(connections.unwatchableConnections)")
        gauge("troupe_accepts_out_of_descriptors_total", "Accepts that found no file descriptor or memory left (each backs off 10 ms).", "counter",
              "\(connections.acceptsOutOfDescriptors)")
        gauge("troupe_event_loops", "Event loops serving connections.", "gauge", "\(EventLoop.sharedGroup.count)")
        gauge("troupe_event_loop_failures_total", "Event loops of the shared group that could not be made at start.", "counter",
              "\(EventLoop.sharedGroupFailures.count)")
        gauge("troupe_sandboxes_live", "Sandboxes not yet terminated or failed.", "gauge", "\(sandboxes.live)")
        out += "# HELP troupe_sandbox_isolation The isolation sandbox commands get here (1 = in force).\n# TYPE troupe_sandbox_isolation gauge\n"
        for kind in ["directory", "rlimits", "process_group", "user", "user_namespace", "pid_namespace", "mount_namespace", "network_namespace", "read_only_root", "cgroup"] {
            out += "troupe_sandbox_isolation{kind=\"\(kind)\"} \(sandboxes.isolation.contains(kind) ? 1 : 0)\n"
        }
        gauge("troupe_rate_limited_requests_total", "Requests refused with 429.", "counter", "\(snapshot.rateLimited)")
        gauge("troupe_fair_share_deferred_requests_total", "Requests run behind other workspaces': their workspace had more than its share in flight.",
              "counter", "\(fairShare.deferred)")
        gauge("troupe_fair_share_refused_requests_total", "Requests refused with 503: their workspace had its most in flight.", "counter",
              "\(fairShare.refused)")
        out += "# HELP troupe_resident_actors Resident actors by kind.\n# TYPE troupe_resident_actors gauge\n"
        out += "troupe_resident_actors{kind=\"tenant\"} \(registry.resident)\n"
        out += "troupe_resident_actors{kind=\"run\"} \(residentRuns)\n"
        gauge("troupe_actor_activations_total", "Actors activated from their snapshot.", "counter", "\(registry.activations)")
        gauge("troupe_actor_passivations_total", "Actors passivated.", "counter", "\(registry.passivations)")
        gauge("troupe_actor_restarts_total", "Actors restarted after a fault.", "counter", "\(registry.restarts)")
        gauge("troupe_actor_quarantines_total", "Actors quarantined.", "counter", "\(registry.quarantines)")
        gauge("troupe_actor_overload_rejections_total", "Calls refused by a full mailbox.", "counter", "\(registry.overloadRejections)")
        out += registry.activationLatency.prometheus(name: "troupe_actor_activation_seconds", help: "Activation latency.")
        gauge("troupe_commit_transactions_total", "Group-commit transactions.", "counter", "\(writer.transactions)")
        gauge("troupe_commit_changes_total", "Changes committed.", "counter", "\(writer.committedChanges)")
        gauge("troupe_commit_replayed_changes_total", "Changes run again because a later change of their batch failed.", "counter",
              "\(writer.replayedChanges)")
        gauge("troupe_commit_rollback_failures_total", "Rollbacks that failed and were tried again.", "counter", "\(writer.rollbackFailures)")
        gauge("troupe_wal_frames_total", "Pages appended to the write-ahead log by commits.", "counter", "\(writer.walFrames)")
        gauge("troupe_commit_failed_changes_total", "Changes that failed or whose transaction failed.", "counter", "\(writer.failedChanges)")
        gauge("troupe_commit_batch_size_mean", "Mean changes per transaction.", "gauge", "\(writer.meanBatchSize)")
        out += "# HELP troupe_records_set_aside_total Stored records that could not be read or applied, left as they are.\n"
        out += "# TYPE troupe_records_set_aside_total counter\n"
        // Kinds are the code's own names (run, job, job_handover, tenant, timer, event, …), never
        // input: every kind met is listed, the usual ones always.
        for kind in Set(["run", "job", "job_handover"]).union(setAside.keys).sorted() {
            out += "troupe_records_set_aside_total{kind=\"\(kind)\"} \(setAside[kind] ?? 0)\n"
        }
        out += writer.commitLatency.prometheus(
            name: "troupe_commit_duration_seconds", help: "Time from BEGIN to the end of COMMIT, fsync included.")
        out += "# HELP troupe_background_errors_total Failures of background work, by task (each logged).\n"
        out += "# TYPE troupe_background_errors_total counter\n"
        for (task, count) in backgroundErrors.sorted(by: { $0.key < $1.key }) {
            out += "troupe_background_errors_total{task=\"\(task)\"} \(count)\n"
        }
        out += "# HELP troupe_event_subscribers Event streams following a workspace now.\n# TYPE troupe_event_subscribers gauge\n"
        out += "troupe_event_subscribers \(eventSubscribers)\n"
        let (runs, jobs) = workload.value
        out += "# HELP troupe_runs Runs by status (counted every 15 s).\n# TYPE troupe_runs gauge\n"
        for status in RunStatus.allCases { out += "troupe_runs{status=\"\(status.rawValue)\"} \(runs[status.rawValue] ?? 0)\n" }
        out += "# HELP troupe_jobs Jobs by status (counted every 15 s).\n# TYPE troupe_jobs gauge\n"
        for status in JobMachine.Status.allCases { out += "troupe_jobs{status=\"\(status.rawValue)\"} \(jobs[status.rawValue] ?? 0)\n" }
        let (due, overdue) = dueWork.value
        out += "# HELP troupe_due_work Rows of the durable clock waiting for their time, by kind (counted every 15 s).\n# TYPE troupe_due_work gauge\n"
        for (kind, count) in due.sorted(by: { $0.key < $1.key }) { out += "troupe_due_work{kind=\"\(kind)\"} \(count)\n" }
        gauge("troupe_due_work_overdue_seconds", "How late the earliest due row is (0 when none is overdue; counted every 15 s).", "gauge",
              "\(overdue)")
        return out
    }
}
