import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct AuthRoutesTests {
    @Test func signupLoginAndMe() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp("grace@example.com")
        let me = try await server.send("GET", "/v1/auth/me", token: account.token)
        #expect(me.status == 200)
        #expect(me.json["user"]?["email"] == "grace@example.com")
        #expect(me.json["role"] == "owner")
        #expect(me.json["workspaces"]?.arrayValue?.count == 1)
        #expect(me.headers["X-RateLimit-Limit"] == "60")
        #expect(me.headers["X-Request-Id"]?.hasPrefix("req_") == true)

        let login = try await server.send("POST", "/v1/auth/login", json: #"{"email":"GRACE@example.com","password":"correct horse battery"}"#)
        #expect(login.status == 200)
        let token = try #require(login.json["token"]?.stringValue)
        #expect(try await server.send("GET", "/v1/auth/me", token: token).json["workspace_id"]?.stringValue == account.workspaceID)
        await server.stop()
    }

    @Test func wrongPasswordAndUnknownEmailGetTheSame401() async throws {
        let server = try await TestServer.start()
        _ = try await server.signUp("linus@example.com")
        let wrong = try await server.send("POST", "/v1/auth/login", json: #"{"email":"linus@example.com","password":"not the password"}"#)
        let unknown = try await server.send("POST", "/v1/auth/login", json: #"{"email":"nobody@example.com","password":"not the password"}"#)
        #expect(wrong.status == 401 && unknown.status == 401)
        #expect(wrong.json["error"]?["message"] == unknown.json["error"]?["message"])
        await server.stop()
    }

    @Test func signupRefusesBadInputWithoutStoringAnything() async throws {
        let server = try await TestServer.start()
        let cases: [(String, Int, String)] = [
            ("not json", 400, "invalid_request"),
            ("[1]", 400, "invalid_request"),
            (#"{"email":1,"password":"correct horse battery","workspace_name":"A"}"#, 400, "invalid_request"),
            (#"{"email":"x@example.com","password":"correct horse battery","workspace_name":"A","admin":true}"#, 400, "invalid_request"),
            (#"{"email":"not-an-email","password":"correct horse battery","workspace_name":"A"}"#, 422, "validation_error"),
            (#"{"email":"x@example.com","password":"short","workspace_name":"A"}"#, 422, "validation_error"),
            (#"{"email":"x@example.com","password":"correct horse battery"}"#, 422, "validation_error"),
            (#"{"email":"x@example.com","password":"correct horse battery","workspace_name":"\#(String(repeating: "w", count: 101))"}"#,
             422, "validation_error"),
        ]
        for (body, status, code) in cases {
            let reply = try await server.send("POST", "/v1/auth/signup", json: body)
            #expect(reply.status == status, "\(body)")
            #expect(reply.errorCode == code, "\(body)")
        }
        let weak = try await server.send("POST", "/v1/auth/signup", json: #"{"email":"x@example.com","password":"short","workspace_name":"A"}"#)
        #expect(weak.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == "password")
        // Nothing was stored: the address is still free.
        _ = try await server.signUp("x@example.com")
        let again = try await server.send("POST", "/v1/auth/signup",
                                          json: #"{"email":"x@example.com","password":"correct horse battery","workspace_name":"B"}"#)
        #expect(again.status == 409)
        let wrongType = try await server.send("POST", "/v1/auth/signup", json: "{}", headers: ["Content-Type": "text/plain"])
        #expect(wrongType.status == 415)
        await server.stop()
    }

    @Test func forgedExpiredAndAlgNoneTokensAre401() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        let parts = account.token.split(separator: ".")
        let none = Base64URL.encode(#"{"alg":"none","typ":"JWT"}"#.utf8) + "." + parts[1] + "."
        let forged = JSONWebToken(secret: Array("some-other-secret-some-other-secret".utf8))
            .sign(JSONObject([("sub", .string(account.userID)), ("ws", .string(account.workspaceID)), ("role", "owner"),
                              ("exp", .int(4_000_000_000))]))
        for token in [none, forged, "garbage", String(account.token.dropLast(2))] {
            let reply = try await server.send("GET", "/v1/auth/me", token: token)
            #expect(reply.status == 401)
            #expect(reply.errorCode == "unauthorized")
        }
        #expect(try await server.send("GET", "/v1/auth/me").status == 401)
        await server.stop()
    }

    @Test func signupIsA404WhenTurnedOff() async throws {
        let server = try await TestServer.start { $0.signup = false }
        let reply = try await server.send("POST", "/v1/auth/signup",
                                          json: #"{"email":"a@example.com","password":"correct horse battery","workspace_name":"A"}"#)
        #expect(reply.status == 404)
        await server.stop()
    }
}
