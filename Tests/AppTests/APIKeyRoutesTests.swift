import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct APIKeyRoutesTests {
    @Test func aKeyIsShownOnceAndWorksUntilDisabledOrDeleted() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        let key = try await server.createKey(account)
        #expect(key.raw.hasPrefix("sk_live_") && key.raw.count == 48)
        let listed = try await server.send("GET", "/v1/api-keys", token: account.token)
        #expect(listed.json["data"]?.arrayValue?.count == 1)
        #expect(!listed.text.contains(key.raw))
        #expect(listed.json["data"]?.arrayValue?.first?["prefix"]?.stringValue == String(key.raw.prefix(12)))

        #expect(try await server.send("GET", "/v1/usage", token: key.raw).status == 200)
        #expect(try await server.send("GET", "/v1/usage", headers: ["X-API-Key": key.raw]).status == 200)

        #expect(try await server.send("POST", "/v1/api-keys/\(key.id)/disable", token: account.token).json["disabled"] == true)
        #expect(try await server.send("GET", "/v1/usage", token: key.raw).errorCode == "key_disabled")
        #expect(try await server.send("POST", "/v1/api-keys/\(key.id)/enable", token: account.token).status == 200)
        #expect(try await server.send("GET", "/v1/usage", token: key.raw).status == 200)

        #expect(try await server.send("DELETE", "/v1/api-keys/\(key.id)", token: account.token).status == 204)
        #expect(try await server.send("GET", "/v1/usage", token: key.raw).errorCode == "key_revoked")
        #expect(try await server.send("GET", "/v1/api-keys/\(key.id)", token: account.token).status == 404)
        await server.stop()
    }

    @Test func scopesAndRolesAreEnforced() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        let key = try await server.createKey(account, scopes: ["runs:read"])
        let usage = try await server.send("GET", "/v1/usage", token: key.raw)
        #expect(usage.status == 403)
        #expect(usage.errorCode == "missing_scope")
        #expect(usage.json["error"]?["required_scope"] == "usage:read")
        // Keys never manage keys, whatever their scopes.
        let all = try await server.createKey(account, scopes: ["runs:read", "members:read", "usage:read", "webhooks:manage"])
        let managed = try await server.send("POST", "/v1/api-keys", token: all.raw, json: #"{"name":"x","scopes":["runs:read"]}"#)
        #expect(managed.status == 403)
        #expect(managed.errorCode == "forbidden")
        await server.stop()
    }

    @Test func badKeyRequestsAreRefused() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        let cases: [(String, Int)] = [
            (#"{"name":"x","scopes":["runs:fly"]}"#, 422),
            (#"{"name":"x","scopes":[]}"#, 422),
            (#"{"name":"x"}"#, 422),
            (#"{"name":"x","scopes":"runs:read"}"#, 400),
            (#"{"name":"x","scopes":[1]}"#, 400),
            (#"{"name":"x","scopes":["runs:read"],"expires_at":"yesterday"}"#, 422),
            (#"{"name":"x","scopes":["runs:read"],"expires_at":"2001-01-01T00:00:00Z"}"#, 422),
        ]
        for (body, status) in cases {
            #expect(try await server.send("POST", "/v1/api-keys", token: account.token, json: body).status == status, "\(body)")
        }
        #expect(try await server.send("GET", "/v1/api-keys", token: account.token).json["data"]?.arrayValue?.isEmpty == true)
        #expect(try await server.send("GET", "/v1/api-keys", token: "sk_live_" + String(repeating: "a", count: 40)).status == 401)
        await server.stop()
    }

    @Test func anotherWorkspacesKeyIdIsNotFound() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        let key = try await server.createKey(ada)
        for (method, path) in [("GET", "/v1/api-keys/\(key.id)"), ("POST", "/v1/api-keys/\(key.id)/disable"),
                               ("POST", "/v1/api-keys/\(key.id)/enable"), ("DELETE", "/v1/api-keys/\(key.id)")] {
            let reply = try await server.send(method, path, token: bob.token)
            #expect(reply.status == 404, "\(method) \(path)")
        }
        #expect(try await server.send("GET", "/v1/usage", token: key.raw).status == 200)
        await server.stop()
    }

    @Test func listsPageWithSignedCursors() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        let other = try await server.signUp()
        for _ in 0..<5 { _ = try await server.createKey(account) }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let target = "/v1/api-keys?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await server.send("GET", target, token: account.token)
            #expect(page.status == 200)
            seen += page.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page.json["next_cursor"]?.stringValue
            if let cursor {
                let foreign = try await server.send("GET", "/v1/api-keys?cursor=\(cursor)", token: other.token)
                #expect(foreign.status == 400)
            }
        } while cursor != nil
        #expect(seen.count == 5 && Set(seen).count == 5)
        #expect(try await server.send("GET", "/v1/api-keys?limit=0", token: account.token).status == 400)
        #expect(try await server.send("GET", "/v1/api-keys?limit=201", token: account.token).status == 400)
        #expect(try await server.send("GET", "/v1/api-keys?cursor=forged.cursor", token: account.token).status == 400)
        await server.stop()
    }
}
