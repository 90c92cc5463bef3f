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

    private static let streamFormat = "text/event-stream: each event as `id: <seq>`, `event: <type>`, `data: <the Event as JSON>` and a blank line; a `: keep-alive` comment every 15 s; `: stream open` once subscribed. A reader that falls behind is caught up from the durable log, never skipped. 503 overloaded when the workspace has 10,000 open streams. A server drain ends the stream (reconnect with Last-Event-ID)."

    static let eventOperations: [Operation] = [
        Operation(method: "get", path: "/v1/events/stream",
                  summary: "The workspace's events (events:read; any member). Without Last-Event-ID or ?after= it starts live. " + streamFormat,
                  authenticated: true, success: ("200", ref("Event")), errors: ["400", "401", "403", "429", "503"],
                  contentType: "text/event-stream", parameters: resume),
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
