import Foundation
import Testing
import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport

@testable import TroupeApp

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
        let runtime = try await TroupeRuntime.open(path: directory + "/troupe.db", clock: clock, migrator: AccountSchema.migrator)
        let gate = IdempotencyGate(store: IdempotencyStore(store: runtime.store), clock: clock)
        let request = HTTPRequest(head: HTTPRequestHead(method: "POST", target: "/v1/jobs", headers: [:]), body: Array(#"{"queue":"q"}"#.utf8))
        let created = LockedBox(0)
        let answer = HTTPResponse.json(201, Array(#"{"id":"job_1"}"#.utf8))

        await #expect(throws: Interrupted.self) {
            _ = try await gate.perform(workspaceID: "ws_a", key: "k", request: request, route: "/v1/jobs") {
                try await IdempotencyGate.committing({ _ in answer }) {
                    try await runtime.store.writer.submit { _ in created.withLock { $0 += 1 } }
                }
                throw Interrupted()
            }
        }
        let replay = try await gate.perform(workspaceID: "ws_a", key: "k", request: request, route: "/v1/jobs") {
            try await IdempotencyGate.committing({ _ in answer }) {
                try await runtime.store.writer.submit { _ in created.withLock { $0 += 1 } }
            }
            return answer
        }
        #expect(replay.status == 201)
        #expect(replay.headers["Idempotent-Replayed"] == "true")
        guard case .bytes(let body) = replay.body else { Issue.record("the replay has no body"); return }
        #expect(body == Array(#"{"id":"job_1"}"#.utf8))
        #expect(created.value == 1)
        await runtime.close()
    }
}
