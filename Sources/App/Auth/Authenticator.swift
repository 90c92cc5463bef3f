import TroupeActors
import TroupeCore
import TroupeTransport

/// Turns a request's credentials into a ``Principal``: a session JWT by its signature alone
/// (no database read), an API key by the SHA-256 of the raw key through a cache.
///
/// The cache is dropped for a key as soon as a change to it commits (``forget(hash:)``), and a
/// lookup that raced with that change does not put its stale copy back (a generation counter),
/// so disabling or deleting a key takes effect on the very next request on every connection.
/// `last_used_at` is kept in memory and written in one batch by ``flushLastUsed()``. A session
/// token whose holder's membership changed since it was issued is refused through
/// ``SessionRevocations``, also without a database read.
final class Authenticator: Sendable {
    static let sessionLifetime = Duration.seconds(12 * 3600)
    static let keyPrefix = "sk_live_"

    private struct Cache {
        var keys: [[UInt8]: APIKeyRecord] = [:]
        var generation = 0
        var lastUsed: [String: Timestamp] = [:]
    }

    private let jwt: JSONWebToken
    private let keys: APIKeyStore
    private let clock: any WallClock
    private let cache = LockedBox(Cache())
    private let maxCachedKeys = 100_000
    let revocations: SessionRevocations

    init(secret: [UInt8], keys: APIKeyStore, clock: any WallClock, revocations: SessionRevocations) {
        jwt = JSONWebToken(secret: secret)
        self.keys = keys
        self.clock = clock
        self.revocations = revocations
    }

    /// A session token for `userID` in `workspaceID`.
    func issueToken(userID: String, workspaceID: String, role: Role) -> String {
        let now = clock.now.secondsSinceEpoch
        return jwt.sign(JSONObject([
            ("sub", .string(userID)), ("ws", .string(workspaceID)), ("role", .string(role.rawValue)), ("iat", .int(now)),
            ("exp", .int(now + Self.sessionLifetime.components.seconds)), ("jti", .string(RandomID.make(prefix: "jti"))),
        ]))
    }

    /// The principal behind `Authorization: Bearer …` or `X-API-Key`.
    /// The WebSocket subprotocol a browser names beside `bearer.<token>` (API.md).
    static let webSocketProtocol = "troupe.v1"

    func authenticate(_ headers: HTTPHeaders) async throws -> Principal {
        if let key = headers["X-API-Key"] { return try await apiKey(key) }
        if headers["Authorization"] == nil, let token = Self.webSocketToken(headers) {
            return token.hasPrefix(Self.keyPrefix) ? try await apiKey(token) : try session(token[...])
        }
        guard let authorization = headers["Authorization"] else {
            throw APIError(.unauthorized, "Send a session token or API key as Authorization: Bearer <token>.")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError(.unauthorized, "The Authorization header must be Bearer <token>.")
        }
        let token = parts[1].trimmingSpaces
        if token.hasPrefix(Self.keyPrefix) { return try await apiKey(String(token)) }
        return try session(token)
    }

    /// The token of `Sec-WebSocket-Protocol: troupe.v1, bearer.<token>`, when both are offered.
    private static func webSocketToken(_ headers: HTTPHeaders) -> String? {
        guard let offered = headers["Sec-WebSocket-Protocol"]?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }),
            offered.contains(webSocketProtocol), let bearer = offered.first(where: { $0.hasPrefix("bearer.") })
        else { return nil }
        let token = String(bearer.dropFirst("bearer.".count))
        return token.isEmpty ? nil : token
    }

    private func session(_ token: Substring) throws(APIError) -> Principal {
        let claims: JSONObject
        do {
            claims = try jwt.verify(token, now: clock.now)
        } catch {
            throw APIError(.unauthorized, error.code == .expired ? "The session has expired; sign in again." : "The token is not valid.")
        }
        guard let userID = claims["sub"]?.stringValue, let workspaceID = claims["ws"]?.stringValue,
            let role = claims["role"]?.stringValue.flatMap(Role.init(rawValue:)), claims["exp"] != nil,
            let issuedAt = claims["iat"]?.intValue
        else { throw APIError(.unauthorized, "The token is not valid.") }
        guard revocations.allows(workspaceID: workspaceID, userID: userID, role: role, issuedAt: issuedAt) else {
            throw APIError(.unauthorized, "Your membership of this workspace changed after this token was issued; sign in again.")
        }
        return Principal(workspaceID: workspaceID, kind: .user(id: userID, role: role))
    }

    private func apiKey(_ raw: String) async throws -> Principal {
        let hash = SHA256.hash(raw)
        let (cached, generation) = cache.withLock { ($0.keys[hash], $0.generation) }
        var record = cached
        if record == nil {
            record = try await keys.key(hash: hash)
            if let record {
                cache.withLock { cache in
                    guard cache.generation == generation else { return }
                    if cache.keys.count >= maxCachedKeys { cache.keys.removeAll(keepingCapacity: true) }
                    cache.keys[hash] = record
                }
            }
        }
        guard let record else { throw APIError(.unauthorized, "The API key is not valid.") }
        let now = clock.now
        if record.revokedAt != nil { throw APIError(.keyRevoked, "This API key was deleted; create a new one.") }
        if record.disabled { throw APIError(.keyDisabled, "This API key is disabled; an admin can enable it again.") }
        if let expiry = record.expiresAt, !(now < expiry) { throw APIError(.keyExpired, "This API key expired at \(expiry.rfc3339).") }
        cache.withLock { $0.lastUsed[record.id] = now }
        return Principal(workspaceID: record.workspaceID, kind: .apiKey(id: record.id, scopes: Set(record.scopes)))
    }

    /// Drops a key from the cache after a change to it has committed.
    func forget(hash: [UInt8]) {
        cache.withLock {
            $0.generation += 1
            $0.keys[hash] = nil
        }
    }

    /// The in-memory `last_used_at` of a key not yet written, if any.
    func pendingLastUse(keyID: String) -> Timestamp? {
        cache.withLock { $0.lastUsed[keyID] }
    }

    /// Writes the `last_used_at` times gathered since the last flush, in one transaction.
    func flushLastUsed() async throws {
        let uses = cache.withLock { cache in
            defer { cache.lastUsed = [:] }
            return cache.lastUsed
        }
        guard !uses.isEmpty else { return }
        do {
            try await keys.recordUse(uses)
        } catch {
            cache.withLock { cache in cache.lastUsed.merge(uses) { max($0, $1) } }
            throw error
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
