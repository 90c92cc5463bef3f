import TroupeActors
import TroupeCore
import TroupeTransport

/// Webhooks (API.md, "Events and webhooks"): register (the secret shown once), list, delete,
/// and each one's deliveries. Registrations and deletions need `webhooks:manage` (people:
/// admins); deliveries may be read with `events:read` (people: any member).
struct WebhookRoutes: RouteGroup {
    let gate: RouteGate
    let webhooks: WebhookStore
    let secrets: SealedBox
    let cursors: PageCursor.Codec
    let clock: any WallClock

    static let maxURLBytes = 2048
    static let secretPrefix = "whsec_"

    func add(to router: inout Router) {
        router.post("/v1/webhooks", gate.authenticated("/v1/webhooks", creates: .requiring(.admin, orScope: .webhooksManage, answerHoldsSecret: true)) {
            [self] request in try await create(request)
        })
        router.get("/v1/webhooks", gate.authenticated("/v1/webhooks") { [self] request in try await list(request) })
        router.add("DELETE", "/v1/webhooks/{id}", gate.authenticated("/v1/webhooks/{id}") { [self] request in try await delete(request) })
        router.get("/v1/webhooks/{id}/deliveries", gate.authenticated("/v1/webhooks/{id}/deliveries") { [self] request in
            try await deliveries(request)
        })
    }

    private func create(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.admin, orScope: .webhooksManage)
        let workspaceID = try request.caller.workspaceID
        var body = try JSONBody(request.http, allowed: ["url", "events", "description", "secret"])
        let url = try body.string("url", required: true, maxLength: Self.maxURLBytes)
        let eventValues = try body.array("events", required: true) ?? []
        let description = try body.string("description", maxLength: 256)
        let given = try body.string("secret", maxLength: 256)
        if let url, !Self.isWebURL(url) { body.problem("url", "url must be an http or https URL with a host.") }
        var events: [String] = []
        for (index, value) in eventValues.enumerated() {
            guard let text = value.stringValue, text == "*" || EventType(rawValue: text) != nil else {
                body.problem("events[\(index)]", "events must be event types (\(EventType.allCases.map(\.rawValue).joined(separator: ", "))) or \"*\".")
                continue
            }
            if !events.contains(text) { events.append(text) }
        }
        if eventValues.isEmpty, body.has("events") { body.problem("events", "events must name at least one event type, or \"*\".") }
        if let given, given.utf8.count < 16 { body.problem("secret", "secret must be at least 16 characters.") }
        try body.finish()
        guard let url else { throw APIError(.internalError, "validated fields missing") }
        let secret = given ?? Self.secretPrefix + SecretGenerator.alphanumeric(32)
        let id = RandomID.make(prefix: "whk")
        request.audit?.setTarget(id)
        let record = WebhookRecord(id: id, workspaceID: workspaceID, url: url, events: events, description: description,
                                   sealedSecret: secrets.seal(Array(secret.utf8), nonce: SecretGenerator.bytes(SealedBox.nonceSize)),
                                   createdAt: clock.now)
        var shown = record.json.objectValue ?? JSONObject()
        shown["secret"] = .string(secret)
        let response = Self.json(201, .object(shown))
        try await webhooks.create(record, origin: request.origin(answering: response))
        return response
    }

    private func list(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .eventsRead)
        let workspaceID = try request.caller.workspaceID
        let scope = "webhooks:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await webhooks.webhooks(workspaceID: workspaceID, after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        return Self.json(200, ListPage.json(items, limit: page.limit, codec: cursors, scope: scope,
                                            cursor: { PageCursor(createdAt: $0.createdAt.microsecondsSinceEpoch, id: $0.id) }, render: { $0.json }))
    }

    private func delete(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.admin, orScope: .webhooksManage)
        let id = request.parameter("id")
        guard try await webhooks.delete(id: id, workspaceID: try request.caller.workspaceID, at: clock.now, origin: request.origin) else {
            throw APIError.notFound("Webhook", id)
        }
        return HTTPResponse(status: 204)
    }

    private func deliveries(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .eventsRead)
        let workspaceID = try request.caller.workspaceID
        let id = request.parameter("id")
        guard try await webhooks.webhook(id: id, workspaceID: workspaceID) != nil else { throw APIError.notFound("Webhook", id) }
        let scope = "deliveries:\(id)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        // The cursor's sort key is the delivery's event seq.
        let items = try await webhooks.deliveries(webhookID: id, beforeSeq: page.cursor?.createdAt, limit: page.limit + 1)
        return Self.json(200, ListPage.json(items, limit: page.limit, codec: cursors, scope: scope,
                                            cursor: { PageCursor(createdAt: $0.eventSeq, id: $0.id) }, render: { $0.json }))
    }

    /// `http://` or `https://`, a host and a valid port: what the dispatcher can send to
    /// (``WebhookTarget``), with no whitespace anywhere.
    static func isWebURL(_ text: String) -> Bool {
        WebhookTarget(text) != nil && !text.contains(where: { $0.isWhitespace })
    }
}
