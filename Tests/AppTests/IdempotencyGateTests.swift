import Foundation
import Testing
import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport

@testable import TroupeApp

@Suite(.timeLimit(.minutes(5)))
struct IdempotencyGateTests {
    private struct Interrupted: Error {}

    /// The answer a create commits with its resource survives whatever happens after that
    /// commit (here the handler fails before the gate could store the answer itself, as a crash
    /// would): a retry is replayed, and the resource is not created again.
    @Test func anAnswerCommittedWithItsResourceIsReplayedThoughTheRequestNeverFinished() async throws {
        let directory = NSTemporaryDirectory() + "troupe-gate-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock)
        let gate = IdempotencyGate(store: IdempotencyStore(store: runtime.store), clock: clock, secret: Array(repeating: 7, count: 32))
        let request = HTTPRequest(head: HTTPRequestHead(method: "POST", target: "/v1/jobs", headers: [:]), body: Array(#"{"queue":"q"}"#.utf8))
        let created = LockedBox(0)
        let answer = HTTPResponse.json(201, Array(#"{"id":"job_1"}"#.utf8))

        await #expect(throws: Interrupted.self) {
            _ = try await gate.perform(workspaceID: "ws_a", key: "k", principal: "user:usr_a", request: request, sealing: false,
                                       origin: .system) { pending in
                let origin = ChangeOrigin(principal: nil, requestID: nil, ip: nil, answer: pending.answer { _ in answer })
                try await runtime.store.journal.commit(origin) { _ in created.withLock { $0 += 1 } }
                throw Interrupted()
            }
        }
        let replay = try await gate.perform(workspaceID: "ws_a", key: "k", principal: "user:usr_a", request: request, sealing: false,
                                            origin: .system) { pending in
            let origin = ChangeOrigin(principal: nil, requestID: nil, ip: nil, answer: pending.answer { _ in answer })
            try await runtime.store.journal.commit(origin) { _ in created.withLock { $0 += 1 } }
            return answer
        }
        #expect(replay.status == 201)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        guard case .bytes(let body) = replay.body else { Issue.record("the replay has no body"); return }
        #expect(body == Array(#"{"id":"job_1"}"#.utf8))
        #expect(created.value == 1)
        await runtime.close()
    }

    /// Answers kept before keys were hashed: a plain one is kept under its key's hash (and still
    /// replays), one holding a secret in the clear is deleted by the migration.
    @Test func theKeyHashingMigrationKeepsPlainAnswersAndDropsSecretOnes() async throws {
        let directory = NSTemporaryDirectory() + "troupe-gate-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let before = Migrator(TroupeRuntime.migrations.migrations.filter { $0.name != IdempotencyStore.migration.name })
        let old = try Database(path: path)
        try before.migrate(old)
        let request = HTTPRequest(head: HTTPRequestHead(method: "POST", target: "/v1/jobs", headers: [:]), body: Array("{}".utf8))
        let legacyHash = SHA256.hash(Array("POST /v1/jobs\n".utf8) + request.body)
        for (key, body) in [("plain", #"{"id":"job_1"}"#), ("secret", #"{"raw_key":"sk_live_x"}"#)] {
            try old.execute("""
                INSERT INTO idempotency_keys (workspace_id, key, request_hash, status, content_type, body, created_at) VALUES ('ws_a', ?, ?, 201, 'application/json', ?, ?)
                """, [.text(key), .blob(legacyHash), .blob(Array(body.utf8)), .integer(SystemClock().now.microsecondsSinceEpoch)])
        }
        old.close()

        let runtime = try await TroupeRuntime.open(path: path)
        let keys = try await runtime.store.reader.read { db in try db.query("SELECT key FROM idempotency_keys") { $0.string(at: 0) ?? "" } }
        #expect(keys == [IdempotencyStore.keyHash("plain")])
        let gate = IdempotencyGate(store: IdempotencyStore(store: runtime.store), clock: SystemClock(), secret: Array(repeating: 7, count: 32))
        let replay = try await gate.perform(workspaceID: "ws_a", key: "plain", principal: "user:usr_a", request: request, sealing: false,
                                            origin: .system) { _ in
            Issue.record("a kept answer runs again")
            return HTTPResponse(status: 500)
        }
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        await runtime.close()
    }
}
