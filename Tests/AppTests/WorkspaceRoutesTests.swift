import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct WorkspaceRoutesTests {
    @Test func createListGetPatchAndSwitch() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        let created = try await server.send("POST", "/v1/workspaces", token: account.token, json: #"{"name":"Beta","plan":"growth"}"#)
        #expect(created.status == 201)
        #expect(created.json["limits"]?["requests_per_minute"] == 300)
        let betaID = try #require(created.json["id"]?.stringValue)
        let list = try await server.send("GET", "/v1/workspaces", token: account.token)
        #expect(list.json["data"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" } == ["Beta", "Acme"])
        #expect(list.json["has_more"] == false)

        // The token fixes the workspace: Beta is 404 until the caller switches to it.
        #expect(try await server.send("GET", "/v1/workspaces/\(betaID)", token: account.token).status == 404)
        let switched = try await server.send("POST", "/v1/workspaces/\(betaID)/switch", token: account.token)
        let betaToken = try #require(switched.json["token"]?.stringValue)
        let beta = try await server.send("GET", "/v1/workspaces/\(betaID)", token: betaToken)
        #expect(beta.json["plan"] == "growth")

        let renamed = try await server.send("PATCH", "/v1/workspaces/\(betaID)", token: betaToken, json: #"{"name":"Gamma","plan":"enterprise"}"#)
        #expect(renamed.status == 200)
        #expect(renamed.json["name"] == "Gamma")
        #expect(renamed.json["limits"]?["requests_per_minute"] == nil || renamed.json["limits"]?["requests_per_minute"]?.isNull == true)
        // Enterprise is unlimited: no rate-limit headers from a session token.
        let unlimited = try await server.send("GET", "/v1/workspaces/\(betaID)", token: betaToken)
        #expect(unlimited.headers["X-RateLimit-Limit"] == nil)
        await server.stop()
    }

    @Test func anotherWorkspaceIsNotFoundOnEveryRoute() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        for (method, path, body) in [("GET", "/v1/workspaces/\(ada.workspaceID)", nil),
                                     ("PATCH", "/v1/workspaces/\(ada.workspaceID)", #"{"name":"mine"}"#),
                                     ("POST", "/v1/workspaces/\(ada.workspaceID)/switch", nil)] as [(String, String, String?)] {
            let reply = try await server.send(method, path, token: bob.token, json: body)
            #expect(reply.status == 404, "\(method) \(path)")
            #expect(reply.errorCode == "not_found")
        }
        let name = try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)", token: ada.token).json["name"]
        #expect(name == "Acme")
        await server.stop()
    }

    @Test func badWorkspaceInput() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workspaces", token: account.token, json: #"{"name":"X","plan":"platinum"}"#).status == 422)
        #expect(try await server.send("POST", "/v1/workspaces", token: account.token, json: #"{"name":""}"#).status == 422)
        #expect(try await server.send("POST", "/v1/workspaces", token: account.token, json: #"{"name":7}"#).status == 400)
        let key = try await server.createKey(account, scopes: ["members:read"])
        #expect(try await server.send("POST", "/v1/workspaces", token: key.raw, json: #"{"name":"K"}"#).errorCode == "forbidden")
        #expect(try await server.send("GET", "/v1/workspaces/\(account.workspaceID)", token: key.raw).errorCode == "forbidden")
        await server.stop()
    }
}
