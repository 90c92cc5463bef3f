import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct MemberRoutesTests {
    @Test func inviteAcceptListAndReadWithAKey() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        let invited = try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/members", token: ada.token,
                                            json: #"{"email":"\#(bob.email.uppercased())","role":"member"}"#)
        #expect(invited.status == 201)
        #expect(invited.json["id"]?.stringValue?.hasPrefix("inv_") == true)
        #expect(invited.json["email"]?.stringValue == bob.email, "stored lowercased")
        #expect(invited.json["role"] == "member")
        #expect(invited.json["expires_at"]?.stringValue == (clock.now + .seconds(7 * 86_400)).rfc3339)
        let inviteToken = try #require(invited.json["invite_token"]?.stringValue)

        clock.advance(by: .seconds(1))
        let accepted = try await server.send("POST", "/v1/invitations/accept", token: bob.token, json: #"{"invite_token":"\#(inviteToken)"}"#)
        #expect(accepted.status == 200)
        #expect(accepted.json["workspace_id"]?.stringValue == ada.workspaceID)
        #expect(accepted.json["user_id"]?.stringValue == bob.userID)
        #expect(accepted.json["role"] == "member")
        // Used once: the same token again is 404.
        let again = try await server.send("POST", "/v1/invitations/accept", token: bob.token, json: #"{"invite_token":"\#(inviteToken)"}"#)
        #expect(again.status == 404)

        clock.advance(by: .seconds(1))
        let list = try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)/members", token: ada.token)
        #expect(list.status == 200)
        #expect(list.json["data"]?.arrayValue?.map { $0["user_id"]?.stringValue ?? "" } == [bob.userID, ada.userID], "newest first")
        #expect(list.json["data"]?.arrayValue?.last?["role"] == "owner")
        let firstPage = try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)/members?limit=1", token: ada.token)
        let cursor = try #require(firstPage.json["next_cursor"]?.stringValue)
        let secondPage = try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)/members?limit=1&cursor=\(cursor)", token: ada.token)
        #expect(secondPage.json["data"]?.arrayValue?.first?["user_id"]?.stringValue == ada.userID)
        #expect(secondPage.json["has_more"] == false)

        // Bob is a member of both workspaces now; his token for Ada's lists its members.
        let bobInAda = try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/switch", token: bob.token)
        let bobToken = try #require(bobInAda.json["token"]?.stringValue)
        #expect(try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)/members", token: bobToken).status == 200)
        let me = try await server.send("GET", "/v1/auth/me", token: bob.token)
        #expect(me.json["workspaces"]?.arrayValue?.count == 2)

        // Keys read members with members:read, and never manage them.
        let reader = try await server.createKey(ada, scopes: ["members:read"])
        #expect(try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)/members", token: reader.raw).status == 200)
        let other = try await server.createKey(ada, scopes: ["runs:read"])
        let missing = try await server.send("GET", "/v1/workspaces/\(ada.workspaceID)/members", token: other.raw)
        #expect(missing.errorCode == "missing_scope")
        #expect(missing.json["error"]?["required_scope"] == "members:read")
        let keyInvite = try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/members", token: reader.raw,
                                              json: #"{"email":"x@example.com","role":"viewer"}"#)
        #expect(keyInvite.errorCode == "forbidden")
        await server.stop()
    }

    @Test func invitationsRefusedAsTheContractSays() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        var ada = try await server.signUp()
        let bob = try await server.signUp()
        var carl = try await server.signUp()
        let path = "/v1/workspaces/\(ada.workspaceID)/members"
        func invite(_ email: String, _ role: String = "member") async throws -> Reply {
            try await server.send("POST", path, token: ada.token, json: #"{"email":"\#(email)","role":"\#(role)"}"#)
        }
        func accept(_ account: Account, _ token: String) async throws -> Reply {
            try await server.send("POST", "/v1/invitations/accept", token: account.token, json: #"{"invite_token":"\#(token)"}"#)
        }
        #expect(try await accept(bob, "inv_tok_nothing").status == 404)
        let forBob = try #require(try await invite(bob.email).json["invite_token"]?.stringValue)
        let stolen = try await accept(carl, forBob)
        #expect(stolen.status == 403)
        #expect(stolen.errorCode == "forbidden")

        // A new invitation for the same person replaces the pending one.
        let replaced = try #require(try await invite(bob.email, "viewer").json["invite_token"]?.stringValue)
        #expect(try await accept(bob, forBob).status == 404)
        #expect(try await accept(bob, replaced).json["role"] == "viewer")
        let already = try await invite(bob.email)
        #expect(already.status == 409)
        #expect(already.errorCode == "conflict")

        // Seven days later an invitation has expired.
        let forCarl = try #require(try await invite(carl.email).json["invite_token"]?.stringValue)
        clock.advance(by: .seconds(7 * 86_400))
        (ada, carl) = (try await server.logIn(ada), try await server.logIn(carl))
        #expect(try await accept(carl, forCarl).status == 404)

        let bad = try await invite("not-an-email", "emperor")
        #expect(bad.status == 422)
        #expect(Set(bad.json["error"]?["field_errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []) == ["email", "role"])
        #expect(try await server.send("POST", path, token: ada.token, json: #"{"email":5,"role":"viewer"}"#).status == 400)
        #expect(try await server.send("POST", path, token: ada.token, json: #"{"email":"a@b.co"}"#).status == 422)
        #expect(try await server.send("POST", "/v1/invitations/accept", token: carl.token, json: "{}").status == 422)
        await server.stop()
    }

    @Test func rolesAndTheLastOwner() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        let carl = try await server.signUp()
        let bobToken = try await server.join(bob, to: ada, as: "admin")
        let carlToken = try await server.join(carl, to: ada, as: "member")
        let members = "/v1/workspaces/\(ada.workspaceID)/members"

        // Admins manage members, not owners.
        let adminInvitesOwner = try await server.send("POST", members, token: bobToken, json: #"{"email":"d@example.com","role":"owner"}"#)
        #expect(adminInvitesOwner.errorCode == "forbidden")
        #expect(try await server.send("POST", members, token: bobToken, json: #"{"email":"d@example.com","role":"admin"}"#).status == 201)
        #expect(try await server.send("PATCH", "\(members)/\(ada.userID)", token: bobToken, json: #"{"role":"viewer"}"#).errorCode == "forbidden")
        #expect(try await server.send("PATCH", "\(members)/\(carl.userID)", token: bobToken, json: #"{"role":"owner"}"#).errorCode == "forbidden")
        #expect(try await server.send("DELETE", "\(members)/\(ada.userID)", token: bobToken).errorCode == "forbidden")
        let demoted = try await server.send("PATCH", "\(members)/\(carl.userID)", token: bobToken, json: #"{"role":"viewer"}"#)
        #expect(demoted.status == 200)
        #expect(demoted.json["role"] == "viewer")
        // Members and viewers manage nobody.
        let carlViewer = try #require(try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/switch", token: carl.token)
            .json["token"]?.stringValue)
        #expect(try await server.send("POST", members, token: carlViewer, json: #"{"email":"e@example.com","role":"viewer"}"#).errorCode == "forbidden")
        #expect(try await server.send("DELETE", "\(members)/\(bob.userID)", token: carlViewer).errorCode == "forbidden")
        #expect(try await server.send("GET", members, token: carlToken).status == 401, "the member token predates the demotion")

        // The last owner can be neither demoted nor removed, not even by themselves.
        let lastDemote = try await server.send("PATCH", "\(members)/\(ada.userID)", token: ada.token, json: #"{"role":"admin"}"#)
        #expect(lastDemote.status == 409)
        #expect(lastDemote.errorCode == "conflict")
        #expect(try await server.send("DELETE", "\(members)/\(ada.userID)", token: ada.token).status == 409)
        // With a second owner, the first may leave.
        #expect(try await server.send("PATCH", "\(members)/\(bob.userID)", token: ada.token, json: #"{"role":"owner"}"#).json["role"] == "owner")
        #expect(try await server.send("DELETE", "\(members)/\(ada.userID)", token: ada.token).status == 204)
        let bobOwner = try #require(try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/switch", token: bob.token)
            .json["token"]?.stringValue)
        let remaining = try await server.send("GET", members, token: bobOwner)
        #expect(remaining.json["data"]?.arrayValue?.compactMap { $0["user_id"]?.stringValue }.contains(ada.userID) == false)

        #expect(try await server.send("PATCH", "\(members)/usr_nobody", token: bobOwner, json: #"{"role":"viewer"}"#).status == 404)
        #expect(try await server.send("DELETE", "\(members)/usr_nobody", token: bobOwner).status == 404)
        #expect(try await server.send("PATCH", "\(members)/\(carl.userID)", token: bobOwner, json: #"{"role":"king"}"#).status == 422)
        #expect(try await server.send("PATCH", "\(members)/\(carl.userID)", token: bobOwner, json: #"{"role":1}"#).status == 400)
        await server.stop()
    }

    @Test func anotherWorkspacesMembersAreNotFound() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let eve = try await server.signUp()
        let members = "/v1/workspaces/\(ada.workspaceID)/members"
        for (method, path, body) in [("GET", members, nil), ("POST", members, #"{"email":"x@example.com","role":"viewer"}"#),
                                     ("PATCH", "\(members)/\(ada.userID)", #"{"role":"viewer"}"#),
                                     ("DELETE", "\(members)/\(ada.userID)", nil)] as [(String, String, String?)] {
            let reply = try await server.send(method, path, token: eve.token, json: body)
            #expect(reply.status == 404, "\(method) \(path)")
            #expect(reply.errorCode == "not_found")
        }
        #expect(try await server.send("GET", members, token: ada.token).json["data"]?.arrayValue?.count == 1)
        await server.stop()
    }

    /// A changed or removed membership takes effect on the very next request, across a restart.
    @Test func membershipChangesRevokeOlderSessionTokensAtOnce() async throws {
        let first = try await TestServer.start()
        let ada = try await first.signUp()
        let bob = try await first.signUp()
        let bobAdmin = try await first.join(bob, to: ada, as: "admin")
        let members = "/v1/workspaces/\(ada.workspaceID)/members"
        #expect(try await first.send("GET", members, token: bobAdmin).status == 200)
        #expect(try await first.send("PATCH", "\(members)/\(bob.userID)", token: ada.token, json: #"{"role":"viewer"}"#).status == 200)
        let stale = try await first.send("GET", members, token: bobAdmin)
        #expect(stale.status == 401)
        #expect(stale.errorCode == "unauthorized")

        let server = try await first.restart()
        #expect(try await server.send("GET", members, token: bobAdmin).status == 401, "still refused after a restart")
        let bobViewer = try #require(try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/switch", token: bob.token)
            .json["token"]?.stringValue)
        #expect(try await server.send("GET", members, token: bobViewer).status == 200)
        #expect(try await server.send("POST", members, token: bobViewer, json: #"{"email":"x@example.com","role":"viewer"}"#).status == 403)

        #expect(try await server.send("DELETE", "\(members)/\(bob.userID)", token: ada.token).status == 204)
        #expect(try await server.send("GET", members, token: bobViewer).status == 401)
        #expect(try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/switch", token: bob.token).status == 404)
        // Bob's own workspace is untouched.
        #expect(try await server.send("GET", "/v1/workspaces/\(bob.workspaceID)", token: bob.token).status == 200)
        await server.stop()
    }

    /// A token issued before a membership change stays revoked even when the role is changed
    /// back: the change's time is compared with the token's `iat`, not just the role it names.
    @Test func aRevokedTokenStaysRevokedAfterTheRoleIsChangedBack() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        let bobAdmin = try await server.join(bob, to: ada, as: "admin")
        let members = "/v1/workspaces/\(ada.workspaceID)/members"
        clock.advance(by: .seconds(5))
        #expect(try await server.send("PATCH", "\(members)/\(bob.userID)", token: ada.token, json: #"{"role":"viewer"}"#).status == 200)
        #expect(try await server.send("PATCH", "\(members)/\(bob.userID)", token: ada.token, json: #"{"role":"admin"}"#).status == 200)
        #expect(try await server.send("GET", members, token: bobAdmin).status == 401, "issued before the change, though it names admin again")
        clock.advance(by: .seconds(1))
        let fresh = try #require(try await server.send("POST", "/v1/workspaces/\(ada.workspaceID)/switch", token: bob.token).json["token"]?.stringValue)
        #expect(try await server.send("GET", members, token: fresh).status == 200, "a token issued after the change works")
        let restarted = try await server.restart()
        #expect(try await restarted.send("GET", members, token: bobAdmin).status == 401, "still revoked after a restart")
        #expect(try await restarted.send("GET", members, token: fresh).status == 200)
        await restarted.stop()
    }

    /// Someone removed from every workspace can still sign in: they get a new starter workspace.
    @Test func loginAfterLeavingEveryWorkspace() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        _ = try await server.join(bob, to: ada, as: "member")
        // Bob makes Ada an owner of his workspace and leaves it; then Ada removes him from hers.
        let adaInBob = try await server.join(ada, to: bob, as: "owner")
        #expect(try await server.send("DELETE", "/v1/workspaces/\(bob.workspaceID)/members/\(bob.userID)", token: bob.token).status == 204)
        #expect(try await server.send("DELETE", "/v1/workspaces/\(ada.workspaceID)/members/\(bob.userID)", token: ada.token).status == 204)
        _ = adaInBob
        let login = try await server.send("POST", "/v1/auth/login", json: #"{"email":"\#(bob.email)","password":"correct horse battery"}"#)
        #expect(login.status == 200)
        let token = try #require(login.json["token"]?.stringValue)
        let me = try await server.send("GET", "/v1/auth/me", token: token)
        #expect(me.json["role"] == "owner")
        #expect(me.json["workspaces"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" } == ["Personal"])
        await server.stop()
    }
}
