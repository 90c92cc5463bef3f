import TroupeCore
import TroupePersistence
import TroupeTransport

/// `Idempotency-Key` on the routes that create something (API.md, Conventions).
///
/// The first request with a key runs; its response (unless a 5xx, which a retry should be free
/// to redo) is stored before it is sent, so every answered request can be replayed for 24 h:
/// the same key with the same method, route and body gets the same status and body with
/// `Idempotent-Replayed: true`; with anything else, 422 `idempotency_key_reused`. Requests with
/// the same key that arrive while the first is running wait for it, then replay it — so
/// concurrent duplicates create exactly one resource.
///
/// A create route runs its write inside ``committing(_:during:)``, which commits the answer in
/// the same transaction as the resource: a crash can lose both (the retry then runs again) but
/// never leave the resource without its answer (the retry would create a second one).
final class IdempotencyGate: Sendable {
    /// The keyed request this task runs, and the answer its create committed (if it did).
    final class Pending: Sendable {
        let workspaceID: String
        let key: String
        let hash: [UInt8]
        let at: Timestamp
        let committedAnswer = LockedBox<StoredResponse?>(nil)

        init(workspaceID: String, key: String, hash: [UInt8], at: Timestamp) {
            self.workspaceID = workspaceID
            self.key = key
            self.hash = hash
            self.at = at
        }
    }

    /// Set while a request with an `Idempotency-Key` runs its handler.
    @TaskLocal static var current: Pending?

    private struct Key: Hashable {
        let workspaceID: String
        let key: String
    }

    private let store: IdempotencyStore
    private let clock: any WallClock
    /// Keys being run, with the requests waiting for them.
    private let running = LockedBox([Key: [CheckedContinuation<Bool, Never>]]())
    /// When expired rows were last deleted.
    private let lastPrune = LockedBox(Timestamp(microsecondsSinceEpoch: 0))

    init(store: IdempotencyStore, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    /// The key of `request`, checked: nil when it sent none; 400 unless 1–255 visible ASCII characters.
    static func key(of request: HTTPRequest) throws(APIError) -> String? {
        guard let key = request.headers["Idempotency-Key"] else { return nil }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw APIError(.invalidRequest, "Idempotency-Key must be 1–255 visible ASCII characters.")
        }
        return key
    }

    /// Runs `handler` once for `key`, or replays what its first run answered.
    func perform(
        workspaceID: String, key: String, request: HTTPRequest, route: String, _ handler: () async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        let slot = Key(workspaceID: workspaceID, key: key)
        let hash = SHA256.hash(Array("\(request.method) \(route)\n".utf8) + request.body)
        await claim(slot)
        defer { release(slot) }
        if let stored = try await store.response(workspaceID: workspaceID, key: key, at: clock.now) {
            return try Self.replay(stored, hash: hash)
        }
        let pending = Pending(workspaceID: workspaceID, key: key, hash: hash, at: clock.now)
        let response = try await Self.$current.withValue(pending) { try await handler() }
        if response.status < 500, case .bytes(let body) = response.body {
            let stored = StoredResponse(requestHash: hash, status: response.status, contentType: response.headers["Content-Type"], body: body)
            // Stored again only when the handler answered other than what its create committed.
            if pending.committedAnswer.value != stored {
                try await store.save(stored, workspaceID: workspaceID, key: key, at: clock.now)
            }
        }
        return response
    }

    /// Runs `create` so that its first write also stores `answer` (rendered in that write's
    /// transaction, so it may read what the write stored) as the answer to this request's
    /// `Idempotency-Key`. Without a key, just runs `create`.
    static func committing<T>(
        _ answer: @escaping @Sendable (Database) throws -> HTTPResponse, during create: () async throws -> T
    ) async throws -> T {
        guard let pending = current else { return try await create() }
        let rendered = LockedBox<StoredResponse?>(nil)
        let companion = TransactionCompanion { db in
            let response = try answer(db)
            guard response.status < 500, case .bytes(let body) = response.body else { return }
            let stored = StoredResponse(requestHash: pending.hash, status: response.status, contentType: response.headers["Content-Type"], body: body)
            try IdempotencyStore.saveChange(stored, workspaceID: pending.workspaceID, key: pending.key, at: pending.at)(db)
            rendered.withLock { $0 = stored }
        }
        defer { if companion.committed { pending.committedAnswer.withLock { $0 = rendered.value } } }
        return try await GroupCommitWriter.$companion.withValue(companion) { try await create() }
    }

    /// Returns once this request holds `slot`: at once when nobody runs it, else after the
    /// holder releases it (several waiters then race again; one wins, the others wait again).
    private func claim(_ slot: Key) async {
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

    private func release(_ slot: Key) {
        let waiters = running.withLock { $0.removeValue(forKey: slot) ?? [] }
        for waiter in waiters { waiter.resume(returning: false) }
    }

    /// Deletes expired responses, at most once a minute (called by the server's flush loop).
    func pruneIfDue() async {
        let now = clock.now
        let due = lastPrune.withLock { last in
            guard now - last >= .seconds(60) else { return false }
            last = now
            return true
        }
        // A failure leaves the rows for the next minute's attempt; lookups ignore them meanwhile.
        if due { try? await store.prune(at: now) }
    }

    private static func replay(_ stored: StoredResponse, hash: [UInt8]) throws(APIError) -> HTTPResponse {
        guard ConstantTime.equals(stored.requestHash, hash) else {
            throw APIError(.idempotencyKeyReused, "This Idempotency-Key was used for a different request; use a new key for a new request.")
        }
        var headers: HTTPHeaders = ["Idempotent-Replayed": "true"]
        if let type = stored.contentType { headers.set("Content-Type", type) }
        return HTTPResponse(status: stored.status, headers: headers, body: .bytes(stored.body))
    }
}
