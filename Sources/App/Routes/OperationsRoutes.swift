import TroupeActors
import TroupeCore
import TroupeTransport

/// `/healthz`, `/readyz`, `/metrics` and `/openapi.json` (no `/v1`, no auth).
struct OperationsRoutes: RouteGroup {
    let gate: RouteGate
    let runtime: TroupeRuntime
    let metrics: Metrics
    let sandboxes: SandboxEngine
    let isDraining: @Sendable () -> Bool
    /// The HTTP server's counters, once it runs.
    let connectionStatistics: LockedBox<(@Sendable () -> HTTPServer.Statistics)?>

    func add(to router: inout Router) {
        router.get("/healthz", gate.open("/healthz") { _ in Self.json(200, ["status": "ok"]) })
        router.get("/readyz", gate.open("/readyz") { [self] _ in
            guard !isDraining() else { return Self.json(503, ["status": "draining"]) }
            do {
                try await runtime.store.checkReadable()
                return Self.json(200, ["status": "ready"])
            } catch {
                return Self.json(503, ["status": "database unavailable"])
            }
        })
        router.get("/metrics", gate.open("/metrics") { [self] _ in
            let text = metrics.render(
                registry: runtime.tenants.statistics, residentRuns: runtime.runs.registry.residentCount,
                connections: connectionStatistics.value?() ?? HTTPServer.Statistics(), writer: runtime.store.writerStatistics,
                setAside: runtime.store.setAside.counts, backgroundErrors: runtime.failures.byTask,
                eventSubscribers: runtime.store.journal.bus.subscriberCount,
                sandboxes: (sandboxes.liveCount, sandboxes.configuration.isolationNames), fairShare: gate.shares.counts)
            return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: .bytes(Array(text.utf8)))
        })
        router.get("/openapi.json", gate.open("/openapi.json") { _ in .json(200, OpenAPIDocument.bytes) })
    }
}
