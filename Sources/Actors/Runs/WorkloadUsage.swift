import TroupeCore
import TroupePersistence

/// What a workspace's runs and jobs used over a period: runs created (by workflow), jobs
/// completed, tokens and cost reported by workers — summed in SQL over the snapshots and jobs.
/// A damaged row (not JSON) counts without its slug or usage instead of failing the report.
public struct WorkloadUsage: Sendable {
    let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    /// The sums of one period.
    public struct Totals: Sendable {
        public var runsCreated: Int64 = 0
        public var jobsCompleted: Int64 = 0
        public var inputTokens: Int64 = 0
        public var outputTokens: Int64 = 0
        public var costUSD = 0.0
        /// Workflow slug → (runs created, cost of their jobs completed in the period).
        public var byWorkflow: [String: (runs: Int64, costUSD: Double)] = [:]
    }

    /// Totals for `[from, to)` (microseconds since the epoch). A scan of the period's runs and
    /// jobs: a long read, on the read pool's connection for them, so that a wide range never
    /// holds a reader that requests need.
    public func totals(workspaceID: String, from: Timestamp, to: Timestamp) async throws -> Totals {
        let bounds: [SQLValue] = [.text(workspaceID), .integer(from.microsecondsSinceEpoch), .integer(to.microsecondsSinceEpoch)]
        return try await store.reader.read(long: true) { db in
            var totals = Totals()
            let runs = try db.query("""
                SELECT CASE WHEN json_valid(CAST(state AS TEXT)) THEN json_extract(CAST(state AS TEXT), '$.workflow_slug') END, count(*) FROM snapshots
                WHERE kind = 'run' AND workspace_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1
                """, bounds) { ($0.string(at: 0) ?? "", $0.int64(at: 1)) }
            for (slug, count) in runs {
                totals.runsCreated += count
                totals.byWorkflow[slug, default: (0, 0)].runs += count
            }
            // total(), not sum(): SQLite's sum() of integers fails on overflow, total() adds in
            // floating point and never does; the totals then saturate into Int64.
            let jobs = try db.query("""
                SELECT count(*), total(CASE WHEN json_valid(CAST(usage AS TEXT)) THEN json_extract(CAST(usage AS TEXT), '$.input_tokens') END),
                    total(CASE WHEN json_valid(CAST(usage AS TEXT)) THEN json_extract(CAST(usage AS TEXT), '$.output_tokens') END),
                    total(CASE WHEN json_valid(CAST(usage AS TEXT)) THEN json_extract(CAST(usage AS TEXT), '$.cost_usd') END)
                FROM jobs WHERE workspace_id = ? AND status = 'succeeded' AND updated_at >= ? AND updated_at < ?
                """, bounds) { ($0.int64(at: 0), Int64(saturating: $0.double(at: 1)), Int64(saturating: $0.double(at: 2)), $0.double(at: 3)) }.first
            if let (count, input, output, cost) = jobs {
                totals.jobsCompleted = count
                totals.inputTokens = input
                totals.outputTokens = output
                totals.costUSD = cost
            }
            let costs = try db.query("""
                SELECT CASE WHEN json_valid(CAST(s.state AS TEXT)) THEN json_extract(CAST(s.state AS TEXT), '$.workflow_slug') END,
                    total(CASE WHEN json_valid(CAST(j.usage AS TEXT)) THEN json_extract(CAST(j.usage AS TEXT), '$.cost_usd') END)
                FROM jobs j JOIN snapshots s ON s.kind = 'run' AND s.id = j.run_id
                WHERE j.workspace_id = ? AND j.status = 'succeeded' AND j.updated_at >= ? AND j.updated_at < ? AND j.usage IS NOT NULL
                GROUP BY 1
                """, bounds) { ($0.string(at: 0) ?? "", $0.double(at: 1)) }
            for (slug, cost) in costs { totals.byWorkflow[slug, default: (0, 0)].costUSD = totals.byWorkflow[slug, default: (0, 0)].costUSD.finiteAdding(cost) }
            return totals
        }
    }

    /// Runs and jobs of every workspace by status (the server's gauges).
    public func statusCounts() async throws -> (runs: [String: Int64], jobs: [String: Int64]) {
        let (runs, jobs) = try await store.reader.read { db in
            (try db.query("SELECT status, count(*) FROM snapshots WHERE kind = 'run' GROUP BY status") { ($0.string(at: 0) ?? "", $0.int64(at: 1)) },
             try db.query("SELECT status, count(*) FROM jobs GROUP BY status") { ($0.string(at: 0) ?? "", $0.int64(at: 1)) })
        }
        return (Dictionary(runs, uniquingKeysWith: +), Dictionary(jobs, uniquingKeysWith: +))
    }
}
