import TroupeCore
import TroupeTransport

/// The seam the HTTP server calls: routes the request, makes sure every response carries
/// `X-Request-Id`, and records one log line and the metrics of each request.
struct APIResponder: HTTPResponder {
    let app: TroupeApp
    let router: Router

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        let started = ContinuousClock.now
        // One id for the whole request: the client's when acceptable, else a new one that the
        // handlers then read back from the head.
        var request = request
        request.remoteAddress = app.config.trustedProxies.clientAddress(peer: request.remoteAddress,
                                                                        forwardedFor: request.headers.values(for: "X-Forwarded-For"))
        let requestID = RequestID.resolve(request.headers)
        request.head.headers.set("X-Request-Id", requestID)
        let record = RouteRecord()
        var response = await RouteRecord.$current.withValue(record) { await router.respond(to: request) }
        response.headers.set("X-Request-Id", requestID)
        let info = record.info.value
        let latency = ContinuousClock.now - started
        app.metrics.record(route: info.route, method: request.method, status: response.status, latency: latency)
        app.log.record(RequestLog.Entry(time: app.clock.now, requestID: requestID, workspaceID: info.workspaceID,
                                        method: request.method, route: info.route, status: response.status,
                                        latency: latency, error: info.error))
        return response
    }
}
