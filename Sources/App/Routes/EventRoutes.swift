import TroupeActors
import TroupeCore
import TroupeTransport

/// `GET /v1/events/stream` and `GET /v1/runs/{id}/events` (API.md, Events and webhooks):
/// Server-Sent Events from the durable log and, once caught up, live from the bus.
struct EventRoutes: RouteGroup {
    let gate: RouteGate
    let events: EventLog
    let bus: EventBus
    let runs: RunEngine
    /// The event bytes all streams' catch-ups may hold together.
    let budget = EventBytesBudget()

    func add(to router: inout Router) {
        router.get("/v1/events/stream", gate.authenticated("/v1/events/stream") { [self] request in try await workspaceStream(request) })
        router.get("/v1/runs/{id}/events", gate.authenticated("/v1/runs/{id}/events") { [self] request in try await runStream(request) })
        router.get("/v1/events/ws", gate.authenticated("/v1/events/ws") { [self] request in try await webSocket(request) })
    }

    /// The workspace's events over a WebSocket (RFC 6455): the same events, order and resume
    /// (`?after=`) as the SSE stream, one JSON text frame each. A browser, which cannot set
    /// headers on a WebSocket, sends its token as the subprotocols `troupe.v1, bearer.<token>`;
    /// the answer then names `troupe.v1`.
    private func webSocket(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .eventsRead)
        let workspaceID = try request.caller.workspaceID
        let key: String
        do {
            key = try WebSocketHandshake.key(of: request.http)
        } catch {
            var refusal = APIError(.invalidRequest, error.message)
            if error.status == 426 { refusal.headers = ["Sec-WebSocket-Version": "13"] }
            throw refusal
        }
        let after = try Self.resumePoint(request)
        let subscription = try subscribe(workspaceID, run: nil)
        var headers: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": WebSocketHandshake.accept(key: key)]
        let offered = request.http.headers["Sec-WebSocket-Protocol"]?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        if offered.contains(Authenticator.webSocketProtocol) { headers.set("Sec-WebSocket-Protocol", Authenticator.webSocketProtocol) }
        let stream = WebSocketEventStream(streamer: EventStreamer(events: events, subscription: subscription, workspaceID: workspaceID, run: nil, after: after, budget: budget))
        return HTTPResponse(status: 101, headers: headers, body: .upgrade { connection in await stream.run(connection) })
    }

    /// The workspace's events: live from now, or after the seq a client resumes from.
    private func workspaceStream(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .eventsRead)
        let workspaceID = try request.caller.workspaceID
        let after = try Self.resumePoint(request)
        let subscription = try subscribe(workspaceID, run: nil)
        return Self.eventStream(EventStreamer(events: events, subscription: subscription, workspaceID: workspaceID, run: nil, after: after, budget: budget))
    }

    /// One run's events: from its start (or the seq resumed from), ending after its terminal
    /// event. Another workspace's run is 404.
    private func runStream(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .eventsRead)
        let workspaceID = try request.caller.workspaceID
        let id = request.parameter("id")
        guard let state = try await runs.state(of: id, workspaceID: workspaceID) else { throw APIError.notFound("Run", id) }
        let after = try Self.resumePoint(request) ?? 0
        let subscription = try subscribe(workspaceID, run: id)
        let run = EventStreamer.RunFollowed(key: EventLog.RunKey(id: id, createdAt: state.createdAt)) { [runs] in try await runs.state(of: id, workspaceID: workspaceID)?.machine.status.isFinished ?? true }
        return Self.eventStream(EventStreamer(events: events, subscription: subscription, workspaceID: workspaceID, run: run, after: after, budget: budget))
    }

    /// Subscribes the stream before it is answered, so that the bound is exact: 429 when the
    /// workspace follows its 100 streams already, 503 when the server does (its bound below the
    /// connection cap).
    private func subscribe(_ workspaceID: String, run: String?) throws(APIError) -> EventStreamer.Subscription {
        do {
            return EventStreamer.Subscription(try bus.subscribe(workspaceID: workspaceID, runID: run))
        } catch where error.serverWide {
            var refusal = APIError(.overloaded, "This server follows as many event streams as it may (\(error.limit)); retry shortly.")
            refusal.retryAfterSeconds = 5
            throw refusal
        } catch {
            var refusal = APIError(.rateLimited, "This workspace has \(error.limit) open event streams; close one first.")
            refusal.retryAfterSeconds = 5
            throw refusal
        }
    }

    /// `Last-Event-ID` (what a reconnecting EventSource sends) or `?after=`: the last seq the
    /// client has; nil when it sent neither. A seq is a whole number from 0 to 2^63 − 1 (400 else).
    static func resumePoint(_ request: APIRequest) throws(APIError) -> Int64? {
        let given: (name: String, text: String)? = request.http.headers["Last-Event-ID"].map { ("Last-Event-ID", $0) }
            ?? request.query["after"].map { ("after", $0) }
        guard let (name, text) = given else { return nil }
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seq = Int64(text) else {
            throw APIError(.invalidRequest, "\(name) must be an event seq: a whole number from 0 to 9223372036854775807.")
        }
        return seq
    }

    private static func eventStream(_ streamer: EventStreamer) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
        ], body: .stream { writer in try await streamer.run(ServerSentEventSink(writer: writer)) })
    }
}
