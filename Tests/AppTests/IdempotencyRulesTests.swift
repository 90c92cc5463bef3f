import Foundation
import Testing
import TroupeCore

/// API.md's Idempotency-Key rules beyond the replay itself: who may be replayed what, which
/// answers are kept, and that a kept secret is never in the database in the clear.
@Suite(.serialized, .timeLimit(.minutes(5))) struct IdempotencyRulesTests {
    private let steps = #"[{"id":"build","kind":"task"}]"#

    private func workflow(_ server: TestServer, _ token: String, key: String, slug: String = "ship") async throws -> Reply {
        try await server.send("POST", "/v1/workflows", token: token, json: #"{"slug":"\#(slug)","name":"Ship","steps":\#(steps)}"#,
                              headers: ["Idempotency-Key": key])
    }

    @Test func anotherPrincipalWithTheSameKeyIsRefusedNotReplayed() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        let bobInAda = try await server.join(bob, to: ada, as: "member")
        let key = try await server.createKey(ada, scopes: ["workflows:write"])
        #expect(try await workflow(server, ada.token, key: "k").status == 201)
        let asBob = try await workflow(server, bobInAda, key: "k")
        #expect(asBob.status == 422)
        #expect(asBob.errorCode == "idempotency_key_reused")
        #expect(try await workflow(server, key.raw, key: "k").errorCode == "idempotency_key_reused", "an API key is another principal")
        #expect(try await workflow(server, ada.token, key: "k").headers["Idempotent-Replayed"] == "true")
        await server.stop()
    }

    @Test func pathParametersArePartOfTheRequest() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let body = #"{"email":"bob@example.com","role":"member"}"#
        let elsewhere = try await server.send("POST", "/v1/workspaces/ws_00000000000000000000/members", token: ada.token, json: body,
                                              headers: ["Idempotency-Key": "p"])
        #expect(elsewhere.status == 404)
        let own = try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/members", token: ada.token, json: body,
                                        headers: ["Idempotency-Key": "p"])
        #expect(own.errorCode == "idempotency_key_reused", "not the 404 of another path replayed")
        await server.stop()
    }

    /// The role check runs before any replay, and a 403 is never kept: a person demoted since
    /// is refused, and one promoted since runs afresh.
    @Test func theRoleIsCheckedBeforeAReplayAnd403IsNeverKept() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        var bobInAda = try await server.join(bob, to: ada, as: "member")
        let members = "/v1/workspaces/\(ada.workspaceID)/members/\(bob.userID)"
        #expect(try await workflow(server, bobInAda, key: "b").status == 201)
        clock.advance(by: .seconds(2))
        #expect(try await server.send("PATCH", members, token: ada.token, json: #"{"role":"viewer"}"#).status == 200)
        clock.advance(by: .seconds(2))
        bobInAda = try await server.switchTo(ada, as: bob)
        let demoted = try await workflow(server, bobInAda, key: "b")
        #expect(demoted.status == 403, "a viewer is not replayed what a member created")
        #expect(demoted.headers["Idempotent-Replayed"] == nil)

        #expect(try await workflow(server, bobInAda, key: "v", slug: "later").status == 403)
        clock.advance(by: .seconds(2))
        #expect(try await server.send("PATCH", members, token: ada.token, json: #"{"role":"member"}"#).status == 200)
        clock.advance(by: .seconds(2))
        bobInAda = try await server.switchTo(ada, as: bob)
        let promoted = try await workflow(server, bobInAda, key: "v", slug: "later")
        #expect(promoted.status == 201, "the 403 was not kept: the request runs")
        #expect(promoted.headers["Idempotent-Replayed"] == nil)
        await server.stop()
    }

    @Test func a429IsNeverKept() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock) { $0.plans[.starter]?.requestsPerMinute = 3 }
        let ada = try await server.signUp()
        for _ in 0..<3 { _ = try await server.send("GET", "/v1/auth/me", token: ada.token) }
        let limited = try await workflow(server, ada.token, key: "r")
        #expect(limited.status == 429)
        clock.advance(by: .seconds(61))
        let later = try await workflow(server, ada.token, key: "r")
        #expect(later.status == 201)
        #expect(later.headers["Idempotent-Replayed"] == nil)
        await server.stop()
    }

    /// A raw API key and an invitation token shown by a keyed create appear nowhere in the
    /// database's files, nor does the Idempotency-Key; a replay still returns them.
    @Test func secretsInKeptAnswersAreSealedNotStoredInTheClear() async throws {
        var server = try await TestServer.start()
        let ada = try await server.signUp()
        let idempotencyKeys = ["key-3f9c1b7e-idem", "invite-8d2a4c6f-idem"]
        let created = try await server.send("POST", "/v1/api-keys", token: ada.token, json: #"{"name":"ci","scopes":["runs:read"]}"#,
                                            headers: ["Idempotency-Key": idempotencyKeys[0]])
        let invited = try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/members", token: ada.token,
                                            json: #"{"email":"bob@example.com","role":"member"}"#, headers: ["Idempotency-Key": idempotencyKeys[1]])
        let rawKey = try #require(created.json["raw_key"]?.stringValue)
        let inviteToken = try #require(invited.json["invite_token"]?.stringValue)

        func databaseFiles() -> [UInt8] {
            ["", "-wal", "-shm"].flatMap { suffix in (FileManager.default.contents(atPath: server.databasePath + suffix)).map(Array.init) ?? [] }
        }
        func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
            let needle = Array(needle.utf8)
            guard haystack.count >= needle.count else { return false }
            return (0...(haystack.count - needle.count)).contains { start in haystack[start..<(start + needle.count)].elementsEqual(needle) }
        }
        let whileRunning = databaseFiles()
        #expect(!whileRunning.isEmpty)
        for secret in [rawKey, inviteToken] + idempotencyKeys { #expect(!contains(whileRunning, secret), "\(secret) is in the database") }

        await server.stopKeepingDatabase()
        let afterStop = databaseFiles()
        for secret in [rawKey, inviteToken] + idempotencyKeys { #expect(!contains(afterStop, secret), "\(secret) is in the database") }

        server = try await server.startAgain()
        let keyAgain = try await server.send("POST", "/v1/api-keys", token: ada.token, json: #"{"name":"ci","scopes":["runs:read"]}"#,
                                             headers: ["Idempotency-Key": idempotencyKeys[0]])
        #expect(keyAgain.headers["Idempotent-Replayed"] == "true")
        #expect(keyAgain.json["raw_key"]?.stringValue == rawKey)
        let inviteAgain = try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/members", token: ada.token,
                                                json: #"{"email":"bob@example.com","role":"member"}"#, headers: ["Idempotency-Key": idempotencyKeys[1]])
        #expect(inviteAgain.json["invite_token"]?.stringValue == inviteToken)
        await server.stop()
    }
}
