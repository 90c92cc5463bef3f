import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct LockRoutesTests {
    private func lock(_ server: TestServer, _ token: String, _ action: String, key: String = "deploy", owner: String, ttl: Int? = 30_000) async throws -> Reply {
        let ttlField = ttl.map { #","ttl_ms":\#($0)"# } ?? ""
        return try await server.send("POST", "/v1/locks/\(action)", token: token, json: #"{"key":"\#(key)","owner":"\#(owner)"\#(ttlField)}"#)
    }

    @Test func oneOwnerAtATimeWithFencingTokensThatOnlyGrow() async throws {
        let clock = ManualClock()
        let first = try await TestServer.start(clock: clock)
        let ada = try await first.signUp()
        let acquired = try await lock(first, ada.token, "acquire", owner: "w1")
        #expect(acquired.status == 200)
        #expect(acquired.json["fencing_token"] == 1)
        #expect(acquired.json["expires_at"]?.stringValue == (clock.now + .seconds(30)).rfc3339)
        #expect(try await lock(first, ada.token, "acquire", owner: "w2").status == 409)
        clock.advance(by: .seconds(10))
        let again = try await lock(first, ada.token, "acquire", owner: "w1")
        #expect(again.json["fencing_token"] == 1, "the holder keeps its token")
        #expect(again.json["expires_at"]?.stringValue == (clock.now + .seconds(30)).rfc3339)
        #expect(try await lock(first, ada.token, "renew", owner: "w2").status == 409)
        #expect(try await lock(first, ada.token, "release", owner: "w2", ttl: nil).status == 409)
        #expect(try await lock(first, ada.token, "renew", owner: "w1", ttl: 60_000).status == 200)
        let held = try await first.send("GET", "/v1/locks", token: ada.token)
        #expect(held.json["data"]?.arrayValue?.map { $0["owner"]?.stringValue ?? "" } == ["w1"])
        #expect(try await lock(first, ada.token, "release", owner: "w1", ttl: nil).status == 204)
        #expect(try await first.send("GET", "/v1/locks", token: ada.token).json["data"]?.arrayValue?.isEmpty == true)
        #expect(try await lock(first, ada.token, "release", owner: "w1", ttl: nil).status == 409, "released already")
        #expect(try await lock(first, ada.token, "acquire", owner: "w2").json["fencing_token"] == 2)

        // An expired lease is free for the next owner, with a larger token; the old holder lost it.
        clock.advance(by: .seconds(31))
        #expect(try await lock(first, ada.token, "renew", owner: "w2").status == 409)
        #expect(try await lock(first, ada.token, "acquire", owner: "w3").json["fencing_token"] == 3)

        // Across a restart the token keeps growing.
        #expect(try await lock(first, ada.token, "release", owner: "w3", ttl: nil).status == 204)
        let server = try await first.restart()
        #expect(try await lock(server, ada.token, "acquire", owner: "w4").json["fencing_token"] == 4)
        await server.stop()
    }

    @Test func concurrentAcquisitionsHaveOneWinner() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let key = try await server.createKey(ada, scopes: ["jobs:work"])
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<32 {
                group.addTask { try await lock(server, key.raw, "acquire", key: "race", owner: "w\(index)").status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 31)
        await server.stop()
    }

    @Test func badInputScopesAndWorkspaces() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        #expect(try await lock(server, ada.token, "acquire", owner: "w1", ttl: nil).status == 422)
        #expect(try await lock(server, ada.token, "acquire", owner: "w1", ttl: 0).status == 422)
        #expect(try await lock(server, ada.token, "acquire", owner: "", ttl: 1000).status == 422)
        #expect(try await server.send("POST", "/v1/locks/acquire", token: ada.token, json: #"{"key":"k","owner":"o","ttl_ms":"soon"}"#).status == 400)
        #expect(try await lock(server, ada.token, "acquire", key: String(repeating: "k", count: 256), owner: "w1").status == 422)

        let reader = try await server.createKey(ada, scopes: ["jobs:read"])
        #expect(try await server.send("GET", "/v1/locks", token: reader.raw).status == 200)
        let refused = try await lock(server, reader.raw, "acquire", owner: "w1")
        #expect(refused.errorCode == "missing_scope")
        #expect(refused.json["error"]?["required_scope"] == "jobs:work")

        // Workspaces do not share keys, tokens or lists.
        #expect(try await lock(server, ada.token, "acquire", owner: "ada").json["fencing_token"] == 1)
        #expect(try await lock(server, bob.token, "acquire", owner: "bob").json["fencing_token"] == 1)
        #expect(try await lock(server, bob.token, "release", owner: "ada", ttl: nil).status == 409)
        #expect(try await server.send("GET", "/v1/locks", token: bob.token).json["data"]?.arrayValue?.map { $0["owner"]?.stringValue ?? "" } == ["bob"])
        await server.stop()
    }
}
