import TroupeCore
import TroupePersistence

/// What a workspace's runs and jobs used over a period: runs created, jobs completed, tokens
/// and cost reported by workers, by workflow — read from daily roll-ups (`usage_workload_daily`),
/// never by scanning runs or jobs. Triggers keep the roll-ups in the very transaction that
/// creates a run or completes a job, so they are exact and survive a crash and retention.
public struct WorkloadUsage: Sendable {
    let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    /// The roll-up table, its triggers, and the days already stored, summed once from the runs
    /// and jobs there are (a damaged row counts without its usage).
    public static let rollUpMigration = Migration("usage-2 workload roll-ups", sql: """
        CREATE TABLE usage_workload_daily (
            workspace_id TEXT NOT NULL,
            day TEXT NOT NULL,
            workflow_id TEXT NOT NULL,
            runs_created INTEGER NOT NULL DEFAULT 0,
            jobs_completed INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (workspace_id, day, workflow_id)
        ) WITHOUT ROWID;
        CREATE TRIGGER usage_run_created AFTER INSERT ON snapshots WHEN NEW.kind = 'run' BEGIN
            INSERT INTO usage_workload_daily (workspace_id, day, workflow_id, runs_created)
            VALUES (coalesce(NEW.workspace_id, ''), date(NEW.created_at / 1000000, 'unixepoch'), coalesce(NEW.workflow_id, ''), 1)
            ON CONFLICT (workspace_id, day, workflow_id) DO UPDATE SET runs_created = min(runs_created + 1, \(Int64.max));
        END;
        CREATE TRIGGER usage_job_completed AFTER UPDATE OF status ON jobs
        WHEN NEW.status = 'succeeded' AND OLD.status IS NOT 'succeeded' BEGIN
            INSERT INTO usage_workload_daily (workspace_id, day, workflow_id, jobs_completed, input_tokens, output_tokens, cost_usd)
            SELECT NEW.workspace_id, date(NEW.updated_at / 1000000, 'unixepoch'),
                coalesce((SELECT workflow_id FROM snapshots WHERE kind = 'run' AND id = NEW.run_id), ''), 1, \(tokens("NEW.usage", "input_tokens")),
                \(tokens("NEW.usage", "output_tokens")), \(cost("NEW.usage"))
            WHERE true
            ON CONFLICT (workspace_id, day, workflow_id) DO UPDATE SET jobs_completed = min(jobs_completed + 1, \(Int64.max)),
                input_tokens = min(input_tokens + excluded.input_tokens, \(Int64.max)),
                output_tokens = min(output_tokens + excluded.output_tokens, \(Int64.max)),
                cost_usd = cost_usd + excluded.cost_usd;
        END;
        INSERT INTO usage_workload_daily (workspace_id, day, workflow_id, runs_created)
        SELECT coalesce(workspace_id, ''), date(created_at / 1000000, 'unixepoch'), coalesce(workflow_id, ''), count(*)
        FROM snapshots WHERE kind = 'run' GROUP BY 1, 2, 3;
        INSERT INTO usage_workload_daily (workspace_id, day, workflow_id, jobs_completed, input_tokens, output_tokens, cost_usd)
        SELECT j.workspace_id, date(j.updated_at / 1000000, 'unixepoch'), coalesce(s.workflow_id, ''), count(*),
            min(total(\(tokens("j.usage", "input_tokens"))), \(Int64.max)), min(total(\(tokens("j.usage", "output_tokens"))), \(Int64.max)),
            total(\(cost("j.usage")))
        FROM jobs j LEFT JOIN snapshots s ON s.kind = 'run' AND s.id = j.run_id
        WHERE j.status = 'succeeded' GROUP BY 1, 2, 3
        ON CONFLICT (workspace_id, day, workflow_id) DO UPDATE SET jobs_completed = excluded.jobs_completed,
            input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd;
        """)

    /// A job's reported token count, 0 where its usage is absent or not JSON.
    private static func tokens(_ column: String, _ field: String) -> String {
        "CAST(coalesce(CASE WHEN json_valid(CAST(\(column) AS TEXT)) THEN json_extract(CAST(\(column) AS TEXT), '$.\(field)') END, 0) AS INTEGER)"
    }

    /// A job's reported cost in dollars, 0 where it reported none.
    private static func cost(_ column: String) -> String {
        "CAST(coalesce(CASE WHEN json_valid(CAST(\(column) AS TEXT)) THEN json_extract(CAST(\(column) AS TEXT), '$.cost_usd') END, 0.0) AS REAL)"
    }

    /// The sums of one period.
    public struct Totals: Sendable, Equatable {
        public var runsCreated: Int64 = 0
        public var jobsCompleted: Int64 = 0
        public var inputTokens: Int64 = 0
        public var outputTokens: Int64 = 0
        public var costUSD = 0.0
        /// Workflow slug → runs created and the cost of its runs' jobs completed in the period.
        public var byWorkflow: [String: WorkflowTotals] = [:]
    }

    /// One workflow's share of ``Totals``.
    public struct WorkflowTotals: Sendable, Equatable {
        public var runs: Int64 = 0
        public var costUSD = 0.0
    }

    /// Totals for the UTC days `from` through `to` (`YYYY-MM-DD`, inclusive): at most a row per
    /// workflow and day, on an ordinary reader.
    public func totals(workspaceID: String, from: String, to: String) async throws -> Totals {
        let rows = try await store.reader.read { db in
            try db.query("""
                SELECT coalesce(w.slug, ''), u.workflow_id, sum(u.runs_created), sum(u.jobs_completed), total(u.input_tokens),
                    total(u.output_tokens), total(u.cost_usd)
                FROM usage_workload_daily u LEFT JOIN workflows w ON w.id = u.workflow_id
                WHERE u.workspace_id = ? AND u.day >= ? AND u.day <= ? GROUP BY u.workflow_id
                """, [.text(workspaceID), .text(from), .text(to)]) { row in
                (slug: row.string(at: 0) ?? "", workflowID: row.string(at: 1) ?? "", runs: row.int64(at: 2), jobs: row.int64(at: 3),
                 input: row.double(at: 4), output: row.double(at: 5), cost: row.double(at: 6))
            }
        }
        var totals = Totals()
        var input = 0.0
        var output = 0.0
        for row in rows {
            totals.runsCreated = totals.runsCreated.saturatingAdding(row.runs)
            totals.jobsCompleted = totals.jobsCompleted.saturatingAdding(row.jobs)
            input += row.input
            output += row.output
            totals.costUSD = totals.costUSD.finiteAdding(row.cost)
            guard !row.workflowID.isEmpty, row.runs > 0 || row.cost != 0 else { continue }
            totals.byWorkflow[row.slug.isEmpty ? row.workflowID : row.slug] = WorkflowTotals(runs: row.runs, costUSD: row.cost)
        }
        totals.inputTokens = Int64(saturating: input)
        totals.outputTokens = Int64(saturating: output)
        return totals
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
