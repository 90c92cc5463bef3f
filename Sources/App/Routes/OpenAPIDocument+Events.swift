import TroupeActors
import TroupeCore

/// The event streams' part of the document.
extension OpenAPIDocument {
    private static let resume: [JSON] = [
        ["name": "Last-Event-ID", "in": "header", "required": false, "schema": ["type": "string", "pattern": "^[0-9]{1,19}$"],
         "description": "The last seq the client has (what a reconnecting EventSource sends): the stream goes on after it, with no gap and no duplicate. Wins over ?after=."],
        ["name": "after", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 0, "maximum": 9_223_372_036_854_775_807],
         "description": "As Last-Event-ID."],
    ]

    private static let streamFormat = "text/event-stream: each event as `id: <seq>`, `event: <type>`, `data: <the Event as JSON>` and a blank line; a `: keep-alive` comment every 15 s; `: stream open` once subscribed. A reader that falls behind is caught up from the durable log, never skipped: in pages of at most 512 KiB of stored events, written event by event, so a stream that does not read holds a bounded amount of the server's memory whatever the events' size. A workspace has at most 100 open streams, SSE and WebSocket together (429 rate_limited with Retry-After past it, decided before the stream is answered); the server at most 4,096 (503). A server drain ends the stream (reconnect with Last-Event-ID)."

    static let eventOperations: [Operation] = [
        Operation(method: "get", path: "/v1/events/stream",
                  summary: "The workspace's events (events:read; any member). Without Last-Event-ID or ?after= it starts live. " + streamFormat,
                  authenticated: true, success: ("200", ref("Event")), errors: ["400", "401", "403", "429", "503"],
                  contentType: "text/event-stream", parameters: resume),
        Operation(method: "get", path: "/v1/events/ws",
                  summary: "The workspace's events over a WebSocket (RFC 6455; events:read; any member): a GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key is answered 101, then one JSON text frame per Event, in seq order, live from the upgrade or after ?after=<seq> with no gap and no duplicate. Auth as any route (Authorization or X-API-Key), or — for browsers — the subprotocols `troupe.v1, bearer.<token>`, answered with Sec-WebSocket-Protocol: troupe.v1; without a valid token 401 before any upgrade. The server pings every 15 s and closes with 1001 a client that did not answer the previous ping, and on a drain; client frames must be masked (1002), text must be UTF-8 (1007), a message at most 64 KiB (1009). What a client sends besides control frames is ignored.",
                  authenticated: true, success: ("101", nil), errors: ["400", "401", "403", "429", "503"],
                  parameters: [["name": "after", "in": "query", "required": false,
                                "schema": ["type": "integer", "minimum": 0, "maximum": 9_223_372_036_854_775_807],
                                "description": "The last seq the client has: the stream goes on after it."]]),
        Operation(method: "get", path: "/v1/runs/{id}/events",
                  summary: "One run's events (events:read), replayed from the run's start unless resumed, ending after its terminal event (run.succeeded, run.failed or run.cancelled); a run of another workspace is 404. " + streamFormat,
                  authenticated: true, success: ("200", ref("Event")), errors: ["400", "401", "403", "404", "429", "503"],
                  contentType: "text/event-stream", parameters: resume),
    ]

    /// An event as the streams send it in `data:`.
    static let eventSchema = object([
        ("id", string), ("seq", ["type": "integer", "minimum": 1]),
        ("type", ["type": "string", "enum": .array(EventType.allCases.map { .string($0.rawValue) })]),
        ("workspace_id", string), ("run_id", ["type": ["string", "null"]]), ("data", ["type": "object"]), ("created_at", time),
    ], required: ["id", "seq", "type", "workspace_id", "run_id", "data", "created_at"])
}
