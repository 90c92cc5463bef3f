import TroupeTransport

/// `GET /console` and its files, and `GET /` redirecting there: the web console, a small
/// single-page app on the public API only (no private endpoints, no cookies). Its files are
/// embedded in the binary (``ConsoleFiles``).
struct ConsoleRoutes: RouteGroup {
    let gate: RouteGate

    func add(to router: inout Router) {
        router.get("/", gate.open("/") { _ in
            HTTPResponse(status: 302, headers: ["Location": "/console", "Cache-Control": "no-cache"])
        })
        router.get("/console", gate.open("/console") { request in
            ConsoleFiles.index.response(ifNoneMatch: request.http.headers["If-None-Match"])
        })
        router.get("/console/{file}", gate.open("/console/{file}") { request in
            guard let name = request.parameters["file"], let file = ConsoleFiles.byName[name] else {
                throw APIError(.notFound, "The console has no such file.")
            }
            return file.response(ifNoneMatch: request.http.headers["If-None-Match"])
        })
    }
}
