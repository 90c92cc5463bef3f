import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport

/// `Idempotency-Key` on the routes that create something (API.md, Conventions).
///
/// The first request with a key runs; its response is stored before it is sent, so every
/// answered request can be replayed for 24 h: the same key from the same principal with the
/// same method, target (path parameters included) and body gets the same status and body with
/// `Idempotent-Replayed: true`; with anything else, 422 `idempotency_key_reused`. Only answers
/// of requests that ran are kept: 401, 403, 429 and 5xx are never stored, so a retry after them
/// runs afresh (authentication, the role or scope check and rate limits run before the gate).
/// Requests with the same key that arrive while the first is running wait for it, then replay
/// it — so concurrent duplicates create exactly one resource.
///
/// The database keeps only the key's SHA-256. An answer that shows a secret once is sealed
/// (``SealedBox``) under a key derived from the Idempotency-Key and the server's secret: a copy
/// of the database alone cannot read it, a replay with the key can.
///
/// A create route passes ``APIRequest/origin(answering:)`` with its change, so the journal
/// commits the answer in the same transaction as the resource: a crash can lose both (the
/// retry then runs again) but never leave the resource without its answer (the retry would
/// create a second one).
final class IdempotencyGate: Sendable {
    /// The keyed request this task runs, and the answer its create committed (if it did).
    final class Pending: Sendable {
        let workspaceID: String
        let keyHash: String
        let requestHash: [UInt8]
        let principal: String
        /// Set when the answer is to be stored sealed.
        let sealer: SealedBox?
        let at: Timestamp
        /// The answers handed to the request's changes, each with what it stored when it ran.
        private let answers = LockedBox<[(answer: IdempotentAnswer, stored: LockedBox<StoredResponse?>)]>([])

        init(workspaceID: String, keyHash: String, requestHash: [UInt8], principal: String, sealer: SealedBox?, at: Timestamp) {
            self.workspaceID = workspaceID
            self.keyHash = keyHash
            self.requestHash = requestHash
            self.principal = principal
            self.sealer = sealer
            self.at = at
        }

        /// The answer to commit with the change that creates the resource (``APIRequest/origin(answering:)``).
        func answer(_ render: @escaping @Sendable (Database) throws -> HTTPResponse) -> IdempotentAnswer {
            let stored = LockedBox<StoredResponse?>(nil)
            let answer = IdempotentAnswer { [self] db in
                guard let response = self.stored(try render(db)) else { return }
                try IdempotencyStore.saveChange(response, workspaceID: workspaceID, keyHash: keyHash, at: at)(db)
                stored.withLock { $0 = response }
            }
            answers.withLock { $0.append((answer, stored)) }
            return answer
        }

        /// Whether the answer committed with the create is `response`, which then need not be
        /// stored again (a sealed one is opened to compare: each seal differs).
        func committed(_ response: HTTPResponse) -> Bool {
            guard let answer = answers.value.first(where: { $0.answer.committed })?.stored.value, answer.status == response.status,
                  case .bytes(let body) = response.body
            else { return false }
            return (sealer.map { $0.open(answer.body) } ?? answer.body) == body
        }

        /// `response` as it is stored, or nil when it must not be (see ``isStored(status:)``).
        func stored(_ response: HTTPResponse) -> StoredResponse? {
            guard IdempotencyGate.isStored(status: response.status), case .bytes(let body) = response.body else { return nil }
            return StoredResponse(requestHash: requestHash, principal: principal, status: response.status,
                                  contentType: response.headers["Content-Type"],
                                  body: sealer.map { $0.seal(body, nonce: SecretGenerator.bytes(SealedBox.nonceSize)) } ?? body,
                                  sealed: sealer != nil)
        }
    }

    private struct Slot: Hashable {
        let workspaceID: String
        let keyHash: String
    }

    private let store: IdempotencyStore
    private let clock: any WallClock
    /// Derives each sealed answer's key from the Idempotency-Key.
    private let sealingKeys: HMACSHA256
    /// Keys being run, with the requests waiting for them.
    private let running = LockedBox([Slot: [CheckedContinuation<Bool, Never>]]())

    init(store: IdempotencyStore, clock: any WallClock, secret: [UInt8]) {
        self.store = store
        self.clock = clock
        sealingKeys = HMACSHA256(key: secret)
    }

    /// The key of `request`, checked: nil when it sent none; 400 unless 1–255 visible ASCII characters.
    static func key(of request: HTTPRequest) throws(APIError) -> String? {
        guard let key = request.headers["Idempotency-Key"] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APIError(.invalidRequest, "Idempotency-Key must be 1–255 visible ASCII characters.")
        }
        return key
    }

    /// Whether an answer of `status` is kept for replay: not 401, 403, 429 or a 5xx, which
    /// say the request did not run (or may run differently when retried).
    static func isStored(status: Int) -> Bool {
        status < 500 && status != 401 && status != 403 && status != 429
    }

    /// Runs `handler` once for `key`, or replays what its first run answered. `sealing`: the
    /// answer shows a secret, so it is stored sealed.
    func perform(
        workspaceID: String, key: String, principal: String, request: HTTPRequest, sealing: Bool, origin: ChangeOrigin,
        _ handler: (Pending) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        let slot = Slot(workspaceID: workspaceID, keyHash: IdempotencyStore.keyHash(key))
        let requestHash = SHA256.hash(Array("\(request.method) \(request.head.target)\n".utf8) + request.body)
        await claim(slot)
        defer { release(slot) }
        if let stored = try await store.response(workspaceID: workspaceID, keyHash: slot.keyHash, at: clock.now) {
            return try Self.replay(stored, requestHash: requestHash, principal: principal) { sealer(workspaceID, key) }
        }
        let pending = Pending(workspaceID: workspaceID, keyHash: slot.keyHash, requestHash: requestHash, principal: principal,
                              sealer: sealing ? sealer(workspaceID, key) : nil, at: clock.now)
        let response = try await handler(pending)
        // Stored again only when the handler answered other than what its create committed.
        if let stored = pending.stored(response), !pending.committed(response) {
            try await store.save(stored, workspaceID: workspaceID, keyHash: slot.keyHash, at: clock.now, origin: origin)
        }
        return response
    }

    /// Returns once this request holds `slot`: at once when nobody runs it, else after the
    /// holder releases it (several waiters then race again; one wins, the others wait again).
    private func claim(_ slot: Slot) async {
        while true {
            let claimed: Bool = await withCheckedContinuation { continuation in
                let free = running.withLock { table -> Bool in
                    guard table[slot] == nil else {
                        table[slot, default: []].append(continuation)
                        return false
                    }
                    table[slot] = []
                    return true
                }
                if free { continuation.resume(returning: true) }
            }
            if claimed { return }
        }
    }

    private func release(_ slot: Slot) {
        let waiters = running.withLock { $0.removeValue(forKey: slot) ?? [] }
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// Deletes the answers past their 24 hours (the pruning service's pass, once a minute; a
    /// failure leaves them for the next pass, and lookups ignore them meanwhile).
    func prune() async throws {
        try await store.prune(at: clock.now)
    }

    /// The box that seals the answers of `key` (two HMACs to derive: made only for a sealed
    /// answer, not for every keyed request).
    private func sealer(_ workspaceID: String, _ key: String) -> SealedBox {
        SealedBox(key: sealingKeys.authenticationCode(for: "idempotency\n\(workspaceID)\n\(key)"))
    }

    private static func replay(
        _ stored: StoredResponse, requestHash: [UInt8], principal: String, sealer: () -> SealedBox
    ) throws(APIError) -> HTTPResponse {
        // An answer stored before principals were kept has none: any caller of the workspace.
        guard ConstantTime.equals(stored.requestHash, requestHash), stored.principal.map({ $0 == principal }) ?? true else {
            throw APIError(.idempotencyKeyReused, "This Idempotency-Key was used for a different request; use a new key for a new request.")
        }
        guard let body = stored.sealed ? sealer().open(stored.body) : stored.body else {
            // Sealed under another server secret (TROUPE_SECRET changed): it cannot be replayed.
            throw APIError(.idempotencyKeyReused, "The answer kept for this Idempotency-Key cannot be read any more; use a new key.")
        }
        var headers: HTTPHeaders = ["Idempotent-Replayed": "true"]
        if let type = stored.contentType { headers.set("Content-Type", type) }
        return HTTPResponse(status: stored.status, headers: headers, body: .bytes(body))
    }
}
