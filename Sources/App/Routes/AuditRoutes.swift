import TroupeActors
import TroupeCore
import TroupeTransport

/// The workspace's audit chain: its entries, newest first, and their verification (API.md,
/// "Audit log"). `audit:read` for keys; every member, viewers included, may read.
struct AuditRoutes: RouteGroup {
    let gate: RouteGate
    let audit: AuditLog
    let cursors: PageCursor.Codec

    func add(to router: inout Router) {
        router.get("/v1/audit/logs", gate.authenticated("/v1/audit/logs") { [self] request in try await list(request) })
        router.get("/v1/audit/verify", gate.authenticated("/v1/audit/verify") { [self] request in
            let caller = try request.caller
            try caller.require(.viewer, orScope: .auditRead)
            return Self.json(200, try await audit.verify(workspaceID: caller.workspaceID).json)
        })
    }

    /// `since`, `until` (RFC 3339; `until` excluded), `actor` (a user or key id), `event`,
    /// `limit`, `cursor`. The cursor's sort key is the entry's seq.
    private func list(_ request: APIRequest) async throws -> HTTPResponse {
        let caller = try request.caller
        try caller.require(.viewer, orScope: .auditRead)
        var filter = AuditLog.Filter()
        for (name, assign) in [("since", \AuditLog.Filter.since), ("until", \AuditLog.Filter.until)] {
            guard let text = request.query[name] else { continue }
            guard let time = Timestamp(rfc3339: text) else { throw APIError(.invalidRequest, "\(name) must be an RFC 3339 time.") }
            filter[keyPath: assign] = time
        }
        for (name, assign) in [("actor", \AuditLog.Filter.actorID), ("event", \AuditLog.Filter.event)] {
            guard let text = request.query[name] else { continue }
            guard !text.isEmpty, text.utf8.count <= 128 else { throw APIError(.invalidRequest, "\(name) must be 1 to 128 characters.") }
            filter[keyPath: assign] = text
        }
        let scope = "audit:\(caller.workspaceID):\(request.query["since"] ?? ""):\(request.query["until"] ?? ""):"
            + "\(filter.actorID ?? ""):\(filter.event ?? "")"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        filter.beforeSeq = page.cursor?.createdAt
        let entries = try await audit.entries(workspaceID: caller.workspaceID, filter: filter, limit: page.limit + 1)
        return Self.json(200, ListPage.json(entries, limit: page.limit, codec: cursors, scope: scope,
                                            cursor: { PageCursor(createdAt: $0.seq, id: $0.id) }, render: { $0.json() }))
    }
}
