import TroupeActors
import TroupeCore

/// The server's long-lived work, in the order the supervisor starts it (and stops it in
/// reverse). Each pass that fails is logged and counted (``BackgroundFailures``) and retried
/// with back-off; checkpoints run on the writer's own checkpointer thread.
enum BackgroundServices {
    static func make(for app: TroupeApp) -> [any Service] {
        let runtime = app.runtime
        let failures = runtime.failures
        return [
            // The durable clock: wait steps' ends, deadlines, schedules' fires, leases' expiry and
            // back-offs' ends, as they fall due (and what fell due while the server was down).
            runtime.scheduler,
            PeriodicService("tenant_passivation", every: .seconds(10), failures: failures) { runtime.tenants.passivateIdle() },
            PeriodicService("run_passivation", every: .seconds(10), failures: failures) { runtime.runs.registry.passivateIdle() },
            // What requests keep in memory: keys' `last_used_at`, request counts, log lines.
            PeriodicService("usage_flush", every: .seconds(1), failures: failures) {
                try await app.authenticator.flushLastUsed()
                try await app.usage.flush()
                try app.log.flush()
            },
            PeriodicService("idempotency_pruning", every: .seconds(60), failures: failures) { try await app.idempotency.prune() },
            // Counted every 15 s, so that a scrape reads memory only.
            PeriodicService("workload_gauges", every: .seconds(15), failures: failures) { try await app.refreshWorkloadGauges() },
            // A `:` comment on every idle event stream (API.md: every 15 s).
            PeriodicService("event_heartbeat", every: .seconds(15), failures: failures) { runtime.store.journal.bus.heartbeat() },
            // Sandboxes past their expires_at: processes killed, directory removed, terminated.
            PeriodicService("sandbox_reaper", every: .seconds(1), failures: failures) { await app.sandboxes.reapExpired() },
            // The webhook outbox, sent as it comes due (and what a restart left pending).
            WebhookDispatcher(webhooks: app.webhooks, events: runtime.store.events, secrets: app.webhookSecrets,
                              allowPrivateNetworks: app.config.webhookPrivateNetworks, failures: failures, clock: app.clock),
        ]
    }
}

extension TroupeApp {
    /// Counts runs and jobs by status, and the durable clock's rows, for `/metrics`.
    func refreshWorkloadGauges() async throws {
        let counts = try await WorkloadUsage(store: runtime.store).statusCounts()
        metrics.refreshWorkload(runs: counts.runs, jobs: counts.jobs)
        let pending = try await runtime.scheduler.pending()
        let late = pending.earliest.map { clock.now - $0 } ?? .zero
        metrics.refreshDueWork(byKind: pending.byKind, overdueSeconds: max(0, Double(late.nanoseconds) / 1e9))
    }
}
