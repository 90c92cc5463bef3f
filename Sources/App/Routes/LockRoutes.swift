import TroupeActors
import TroupeCore
import TroupeTransport

/// Distributed locks with fencing tokens.
struct LockRoutes: RouteGroup {
    let gate: RouteGate
    let locks: LockStore
    let cursors: PageCursor.Codec
    let clock: any WallClock

    /// The longest lease a lock may be given at once: a day.
    static let maxLockTTLMilliseconds: Int64 = 86_400_000

    func add(to router: inout Router) {
        router.post("/v1/locks/acquire", gate.authenticated("/v1/locks/acquire") { [self] request in try await acquireLock(request) })
        router.post("/v1/locks/renew", gate.authenticated("/v1/locks/renew") { [self] request in try await renewLock(request) })
        router.post("/v1/locks/release", gate.authenticated("/v1/locks/release") { [self] request in try await releaseLock(request) })
        router.get("/v1/locks", gate.authenticated("/v1/locks") { [self] request in try await listLocks(request) })
    }

    /// `{key, owner, ttl_ms?}` read and checked; `ttl_ms` only when `withTTL`.
    private func lockFields(_ request: APIRequest, withTTL: Bool) throws -> (key: String, owner: String, ttl: Duration) {
        try request.caller.require(.member, orScope: .jobsWork)
        var body = try JSONBody(request.http, allowed: withTTL ? ["key", "owner", "ttl_ms"] : ["key", "owner"])
        let key = try body.string("key", required: true, maxLength: 255)
        if let key { request.audit?.setTarget(key) }
        let owner = try body.string("owner", required: true, maxLength: 255)
        let ttl = withTTL ? try body.integer("ttl_ms", in: 1...Self.maxLockTTLMilliseconds, required: true) : 0
        if key?.isEmpty == true { body.problem("key", "key must not be empty.") }
        if owner?.isEmpty == true { body.problem("owner", "owner must not be empty.") }
        try body.finish()
        guard let key, let owner, let ttl else { throw APIError(.internalError, "validated fields missing") }
        return (key, owner, .milliseconds(ttl))
    }

    private func acquireLock(_ request: APIRequest) async throws -> HTTPResponse {
        let fields = try lockFields(request, withTTL: true)
        let lock = try await locks.acquire(workspaceID: try request.caller.workspaceID, key: fields.key, owner: fields.owner,
                                           ttl: fields.ttl, at: clock.now, origin: request.origin)
        return Self.json(200, lock.json)
    }

    private func renewLock(_ request: APIRequest) async throws -> HTTPResponse {
        let fields = try lockFields(request, withTTL: true)
        let lock = try await locks.renew(workspaceID: try request.caller.workspaceID, key: fields.key, owner: fields.owner,
                                         ttl: fields.ttl, at: clock.now, origin: request.origin)
        return Self.json(200, lock.json)
    }

    private func releaseLock(_ request: APIRequest) async throws -> HTTPResponse {
        let fields = try lockFields(request, withTTL: false)
        try await locks.release(workspaceID: try request.caller.workspaceID, key: fields.key, owner: fields.owner, at: clock.now, origin: request.origin)
        return HTTPResponse(status: 204)
    }

    private func listLocks(_ request: APIRequest) async throws -> HTTPResponse {
        try request.caller.require(.viewer, orScope: .jobsRead)
        let workspaceID = try request.caller.workspaceID
        let scope = "locks:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await locks.held(workspaceID: workspaceID, at: clock.now, after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.acquiredAt.microsecondsSinceEpoch, id: $0.key) }, render: \.json))
    }
}
