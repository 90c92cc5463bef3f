import Testing
import TroupeCore

@testable import TroupeApp

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

    /// The attack: a person giving themselves the enterprise plan, or owning workspaces without
    /// end. A plan outside self_service_plans is the operator's (403, on create and PATCH), and a
    /// user owns at most max_workspaces_per_user (429), concurrent creations included.
    @Test func aPersonCannotChooseAnOperatorsPlanNorOwnWorkspacesWithoutEnd() async throws {
        let server = try await TestServer.start { config in
            config.selfServicePlans = [.starter]
            config.maxWorkspacesPerUser = 3
        }
        let ada = try await server.signUp()  // owns 1
        let enterprise = try await server.send("POST", "/v1/workspaces", token: ada.token, json: #"{"name":"Big","plan":"enterprise"}"#)
        #expect(enterprise.status == 403)
        #expect(enterprise.json["error"]?["message"]?.stringValue?.contains("set-plan") == true)
        let upgraded = try await server.send("PATCH", "/v1/workspaces/\(ada.workspaceID)", token: ada.token, json: #"{"plan":"growth"}"#)
        #expect(upgraded.status == 403)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<5 {
                group.addTask { try await server.send("POST", "/v1/workspaces", token: ada.token, json: #"{"name":"W\#(index)"}"#).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 201 }.count == 2, "1 + 2 = the cap of 3: \(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 3)
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
