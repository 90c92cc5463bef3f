import TroupeActors
import TroupeCore
import TroupeTransport

/// A workspace's API keys: create (shown once), list, disable, revoke.
struct APIKeyRoutes: RouteGroup {
    let gate: RouteGate
    let keys: APIKeyStore
    let authenticator: Authenticator
    let cursors: PageCursor.Codec
    let clock: any WallClock

    func add(to router: inout Router) {
        router.post("/v1/api-keys", gate.authenticated("/v1/api-keys", creates: .requiring(.admin, orScope: nil, answerHoldsSecret: true)) { [self] request in try await createKey(request) })
        router.get("/v1/api-keys", gate.authenticated("/v1/api-keys") { [self] request in try await listKeys(request) })
        router.get("/v1/api-keys/{id}", gate.authenticated("/v1/api-keys/{id}") { [self] request in try await getKey(request) })
        router.post("/v1/api-keys/{id}/disable", gate.authenticated("/v1/api-keys/{id}/disable") { [self] request in
            try await setKeyDisabled(true, request)
        })
        router.post("/v1/api-keys/{id}/enable", gate.authenticated("/v1/api-keys/{id}/enable") { [self] request in
            try await setKeyDisabled(false, request)
        })
        router.add("DELETE", "/v1/api-keys/{id}", gate.authenticated("/v1/api-keys/{id}") { [self] request in try await deleteKey(request) })
    }

    /// Keys never manage keys; among people, admins and owners do.
    private func keyAdmin(_ request: APIRequest) throws(APIError) -> String {
        _ = try request.caller.requireUser(.admin)
        return try request.caller.workspaceID
    }

    private func createKey(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try keyAdmin(request)
        var body = try JSONBody(request.http, allowed: ["name", "scopes", "expires_at"])
        let name = try body.string("name", required: true, maxLength: 100)
        let scopeValues = try body.array("scopes", required: true) ?? []
        let expiresAt = try body.timestamp("expires_at")
        var scopes: [Scope] = []
        for (index, value) in scopeValues.enumerated() {
            guard let text = value.stringValue else { throw APIError(.invalidRequest, "scopes[\(index)] must be a string.") }
            guard let scope = Scope(rawValue: text) else {
                body.problem("scopes[\(index)]", "\(text) is not a scope; use one of \(Scope.allCases.map(\.rawValue).joined(separator: ", ")).")
                continue
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        if scopeValues.isEmpty, body.has("scopes") { body.problem("scopes", "scopes must name at least one scope.") }
        let now = clock.now
        if let expiresAt, !(now < expiresAt) { body.problem("expires_at", "expires_at must be in the future.") }
        if let name, name.isEmpty { body.problem("name", "name must not be empty.") }
        try body.finish()
        guard let name else { throw APIError(.internalError, "validated fields missing") }
        let raw = Authenticator.keyPrefix + SecretGenerator.alphanumeric(40)
        let keyID = RandomID.make(prefix: "key")
        request.audit?.setTarget(keyID)
        let record = APIKeyRecord(id: keyID, workspaceID: workspaceID, name: name,
                                  prefix: String(raw.prefix(12)), hash: SHA256.hash(raw), scopes: scopes, expiresAt: expiresAt,
                                  disabled: false, revokedAt: nil, createdAt: now, lastUsedAt: nil)
        let response = Self.json(201, ["api_key": record.json, "raw_key": .string(raw)])
        try await keys.insert(record, origin: request.origin(answering: response))
        return response
    }

    private func listKeys(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try keyAdmin(request)
        let scope = "api-keys:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await keys.keys(workspaceID: workspaceID, after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.createdAt.microsecondsSinceEpoch, id: $0.id) },
            render: { [self] in withPendingUse($0).json }))
    }

    private func getKey(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try keyAdmin(request)
        let id = request.parameter("id")
        guard let record = try await keys.key(id: id, workspaceID: workspaceID) else { throw APIError.notFound("API key", id) }
        return Self.json(200, withPendingUse(record).json)
    }

    private func setKeyDisabled(_ disabled: Bool, _ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try keyAdmin(request)
        let id = request.parameter("id")
        guard let record = try await keys.setDisabled(disabled, id: id, workspaceID: workspaceID, origin: request.origin) else {
            throw APIError.notFound("API key", id)
        }
        authenticator.forget(hash: record.hash)
        return Self.json(200, withPendingUse(record).json)
    }

    private func deleteKey(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try keyAdmin(request)
        let id = request.parameter("id")
        guard let record = try await keys.key(id: id, workspaceID: workspaceID),
            try await keys.revoke(id: id, workspaceID: workspaceID, at: clock.now, origin: request.origin)
        else { throw APIError.notFound("API key", id) }
        authenticator.forget(hash: record.hash)
        return HTTPResponse(status: 204)
    }

    /// The record with `last_used_at` as the server knows it, written to disk or not yet.
    private func withPendingUse(_ record: APIKeyRecord) -> APIKeyRecord {
        var record = record
        if let pending = authenticator.pendingLastUse(keyID: record.id), record.lastUsedAt.map({ $0 < pending }) ?? true {
            record.lastUsedAt = pending
        }
        return record
    }
}
