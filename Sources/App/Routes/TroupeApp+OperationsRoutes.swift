import TroupeActors
import TroupeCore
import TroupeTransport

extension TroupeApp {
    func addOperationsRoutes(to router: inout Router) {
        router.get("/healthz", open("/healthz") { _ in Self.json(200, ["status": "ok"]) })
        router.get("/readyz", open("/readyz") { [self] _ in
            guard !isDraining else { return Self.json(503, ["status": "draining"]) }
            do {
                _ = try await runtime.store.reader.read { db in try db.scalar("SELECT 1") }
                return Self.json(200, ["status": "ready"])
            } catch {
                return Self.json(503, ["status": "database unavailable"])
            }
        })
        router.get("/metrics", open("/metrics") { [self] _ in
            let text = metrics.render(
                registry: runtime.tenants.statistics, residentRuns: runtime.runs.registry.residentCount,
                openConnections: connectionStatistics.value?().openConnections ?? 0, writer: runtime.store.writerStatistics,
                setAside: runtime.store.setAside.counts)
            return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: .bytes(Array(text.utf8)))
        })
        router.get("/openapi.json", open("/openapi.json") { _ in .json(200, OpenAPIDocument.bytes) })
    }

    /// Counts runs and jobs by status for `/metrics` (in the background, every 15 s: a scrape
    /// never scans a table, so a scrape flood costs the database nothing).
    func refreshWorkloadGauges() async throws {
        let (runs, jobs) = try await runtime.store.reader.read { db in
            (try db.query("SELECT status, count(*) FROM snapshots WHERE kind = 'run' GROUP BY status") { ($0.string(at: 0) ?? "", $0.int64(at: 1)) },
             try db.query("SELECT status, count(*) FROM jobs GROUP BY status") { ($0.string(at: 0) ?? "", $0.int64(at: 1)) })
        }
        metrics.refreshWorkload(runs: Dictionary(runs, uniquingKeysWith: +), jobs: Dictionary(jobs, uniquingKeysWith: +))
    }
}
