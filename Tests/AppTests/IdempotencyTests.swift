import Testing
import TroupeCore
import TroupeTransport

@Suite(.serialized, .timeLimit(.minutes(5))) struct IdempotencyTests {
    private let steps = #"[{"id":"build","kind":"task"}]"#

    private func create(_ server: TestServer, _ account: Account, key: String, slug: String = "ship") async throws -> Reply {
        try await server.send("POST", "/v1/workflows", token: account.token, json: #"{"slug":"\#(slug)","name":"Ship","steps":\#(steps)}"#,
                              headers: ["Idempotency-Key": key])
    }

    @Test func aRetryIsReplayedAndADifferentBodyRefused() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        var ada = try await server.signUp()
        let first = try await create(server, ada, key: "k-1")
        #expect(first.status == 201)
        #expect(first.headers["Idempotent-Replayed"] == nil)
        let again = try await create(server, ada, key: "k-1")
        #expect(again.status == 201)
        #expect(again.headers["Idempotent-Replayed"] == "true")
        #expect(again.body == first.body)
        #expect(again.headers["Content-Type"] == "application/json")
        #expect(try await server.send("GET", "/v1/workflows", token: ada.token).json["data"]?.arrayValue?.count == 1)

        let reused = try await create(server, ada, key: "k-1", slug: "other")
        #expect(reused.status == 422)
        #expect(reused.errorCode == "idempotency_key_reused")
        // The same body on another create route is another request too.
        let otherRoute = try await server.send("POST", "/v1/workspaces", token: ada.token, json: #"{"name":"X"}"#, headers: ["Idempotency-Key": "k-1"])
        #expect(otherRoute.errorCode == "idempotency_key_reused")

        // An error is an answer too: replayed, not run again.
        let invalid = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"BAD","name":"x","steps":\#(steps)}"#,
                                            headers: ["Idempotency-Key": "k-2"])
        #expect(invalid.status == 422)
        let invalidAgain = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"BAD","name":"x","steps":\#(steps)}"#,
                                                 headers: ["Idempotency-Key": "k-2"])
        #expect(invalidAgain.status == 422)
        #expect(invalidAgain.headers["Idempotent-Replayed"] == "true")

        let tooLong = try await create(server, ada, key: String(repeating: "x", count: 256))
        #expect(tooLong.status == 400)
        #expect(try await create(server, ada, key: "has space").status == 400)

        // After 24 hours the key is free: the request runs again (a new slug, so it can succeed).
        clock.advance(by: .seconds(24 * 3600 + 1))
        ada = try await server.logIn(ada)
        let later = try await create(server, ada, key: "k-1", slug: "later")
        #expect(later.status == 201)
        #expect(later.headers["Idempotent-Replayed"] == nil)
        await server.stop()
    }

    @Test func keysAreScopedToTheWorkspaceAndSurviveARestart() async throws {
        let first = try await TestServer.start()
        let ada = try await first.signUp()
        let bob = try await first.signUp()
        let adaReply = try await create(first, ada, key: "shared")
        let bobReply = try await create(first, bob, key: "shared")
        #expect(bobReply.status == 201)
        #expect(bobReply.headers["Idempotent-Replayed"] == nil)
        #expect(bobReply.json["id"] != adaReply.json["id"])
        let server = try await first.restart()
        let replayed = try await create(server, ada, key: "shared")
        #expect(replayed.headers["Idempotent-Replayed"] == "true")
        #expect(replayed.json["id"] == adaReply.json["id"])
        await server.stop()
    }

    @Test func concurrentDuplicatesCreateExactlyOne() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let key = try await server.createKey(ada, scopes: ["workflows:write", "workflows:read"])
        let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    try await server.send("POST", "/v1/workflows", token: key.raw, json: #"{"slug":"once","name":"Once","steps":\#(steps)}"#,
                                          headers: ["Idempotency-Key": "burst"])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.allSatisfy { $0.status == 201 }, "\(replies.map(\.status))")
        #expect(Set(replies.compactMap { $0.json["id"]?.stringValue }).count == 1)
        #expect(replies.filter { $0.headers["Idempotent-Replayed"] == "true" }.count == 31)
        #expect(try await server.send("GET", "/v1/workflows", token: key.raw).json["data"]?.arrayValue?.count == 1)
        await server.stop()
    }

    /// Every create route stores its answer with what it creates, and replays it byte for byte.
    @Test func everyCreateRouteReplaysItsFirstAnswer() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let creates: [(path: String, body: String)] = [
            ("/v1/workflows/from-template/ship-from-ticket", "{}"),
            ("/v1/runs", #"{"workflow":"ship-from-ticket","ticket":"T-1"}"#),
            ("/v1/jobs", #"{"queue":"reports","input":{"n":1}}"#),
            ("/v1/api-keys", #"{"name":"ci","scopes":["runs:read"]}"#),
            ("/v1/workspaces/\(ada.workspaceID)/members", #"{"email":"bob@example.com","role":"member"}"#),
            ("/v1/workspaces", #"{"name":"Second"}"#),
            ("/v1/schedules", #"{"workflow":"ship-from-ticket","cron":"0 0 1 1 *","paused":true}"#),
        ]
        for (index, create) in creates.enumerated() {
            let first = try await server.send("POST", create.path, token: ada.token, json: create.body, headers: ["Idempotency-Key": "c-\(index)"])
            #expect(first.status == 201, "\(create.path): \(first.status) \(first.text)")
            let again = try await server.send("POST", create.path, token: ada.token, json: create.body, headers: ["Idempotency-Key": "c-\(index)"])
            #expect(again.status == 201)
            #expect(again.headers["Idempotent-Replayed"] == "true", "\(create.path)")
            #expect(again.body == first.body, "\(create.path)")
        }
        #expect(try await server.send("GET", "/v1/runs", token: ada.token).json["data"]?.arrayValue?.count == 1)
        await server.stop()
    }
}
