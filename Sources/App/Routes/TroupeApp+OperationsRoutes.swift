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
                registry: runtime.tenants.statistics, openConnections: connectionStatistics.value?().openConnections ?? 0,
                writer: runtime.store.writer.stats)
            return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: .bytes(Array(text.utf8)))
        })
        router.get("/openapi.json", open("/openapi.json") { _ in .json(200, OpenAPIDocument.bytes) })
    }
}
