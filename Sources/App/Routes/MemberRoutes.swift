import TroupeActors
import TroupeCore
import TroupeTransport

/// A workspace's members and invitations.
struct MemberRoutes: RouteGroup {
    let gate: RouteGate
    let members: MemberStore
    let accounts: AccountStore
    let authenticator: Authenticator
    let cursors: PageCursor.Codec
    let clock: any WallClock

    static let invitationLifetime = Duration.seconds(7 * 86_400)
    static let invitationTokenPrefix = "inv_tok_"

    func add(to router: inout Router) {
        let members = "/v1/workspaces/{id}/members"
        let member = "/v1/workspaces/{id}/members/{user_id}"
        router.get(members, gate.authenticated(members) { [self] request in try await listMembers(request) })
        router.post(members, gate.authenticated(members, creates: .requiring(.admin, orScope: nil, answerHoldsSecret: true)) { [self] request in try await invite(request) })
        router.add("PATCH", member, gate.authenticated(member) { [self] request in try await changeRole(request) })
        router.add("DELETE", member, gate.authenticated(member) { [self] request in try await removeMember(request) })
        router.post("/v1/invitations/accept", gate.authenticated("/v1/invitations/accept") { [self] request in
            try await acceptInvitation(request)
        })
    }

    private func listMembers(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try request.ownWorkspace()
        try request.caller.require(.viewer, orScope: .membersRead)
        let scope = "members:\(workspaceID)"
        let page = try PageRequest(query: request.query, codec: cursors, scope: scope)
        let items = try await members.members(workspaceID: workspaceID, after: page.cursor.map { ($0.createdAt, $0.id) }, limit: page.limit + 1)
        return Self.json(200, ListPage.json(
            items, limit: page.limit, codec: cursors, scope: scope,
            cursor: { PageCursor(createdAt: $0.joinedAt.microsecondsSinceEpoch, id: $0.userID) }, render: \.json))
    }

    private func invite(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try request.ownWorkspace()
        let (_, actorRole) = try request.caller.requireUser(.admin)
        var body = try JSONBody(request.http, allowed: ["email", "role"])
        let email = try body.string("email", required: true, maxLength: 254)
        let role = try body.choice("role", required: true, as: Role.self)
        if let email, !EmailAddress.isValid(email) { body.problem("email", "email must be an address such as ada@example.com.") }
        try body.finish()
        guard let email, let role else { throw APIError(.internalError, "validated fields missing") }
        let token = Self.invitationTokenPrefix + SecretGenerator.alphanumeric(40)
        let now = clock.now
        let invitationID = RandomID.make(prefix: "inv")
        request.audit?.setTarget(invitationID)
        let invitation = InvitationRecord(
            id: invitationID, workspaceID: workspaceID, email: email.lowercased(), role: role,
            tokenHash: SHA256.hash(token), expiresAt: now + Self.invitationLifetime, createdAt: now)
        let response = Self.json(201, .object(JSONObject([
            ("id", .string(invitation.id)), ("workspace_id", .string(workspaceID)), ("email", .string(invitation.email)),
            ("role", .string(role.rawValue)), ("invite_token", .string(token)), ("expires_at", .string(invitation.expiresAt.rfc3339)),
            ("created_at", .string(now.rfc3339)),
        ])))
        try await members.invite(invitation, by: actorRole, origin: request.origin(answering: response))
        return response
    }

    private func changeRole(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try request.ownWorkspace()
        let (_, actorRole) = try request.caller.requireUser(.admin)
        var body = try JSONBody(request.http, allowed: ["role"])
        let role = try body.choice("role", required: true, as: Role.self)
        try body.finish()
        guard let role else { throw APIError(.internalError, "validated fields missing") }
        let (member, change) = try await members.changeRole(
            workspaceID: workspaceID, userID: request.parameter("user_id"), to: role, by: actorRole, at: clock.now, origin: request.origin)
        if let change { authenticator.revocations.record(change) }
        return Self.json(200, member.json)
    }

    private func removeMember(_ request: APIRequest) async throws -> HTTPResponse {
        let workspaceID = try request.ownWorkspace()
        let actor = try request.caller.requireUser(.viewer)
        let change = try await members.remove(workspaceID: workspaceID, userID: request.parameter("user_id"), by: actor, at: clock.now, origin: request.origin)
        authenticator.revocations.record(change)
        return HTTPResponse(status: 204)
    }

    private func acceptInvitation(_ request: APIRequest) async throws -> HTTPResponse {
        let (userID, _) = try request.caller.requireUser(.viewer)
        request.audit?.setTarget(userID)
        var body = try JSONBody(request.http, allowed: ["invite_token"])
        let token = try body.string("invite_token", required: true, maxLength: 256)
        try body.finish()
        guard let token else { throw APIError(.internalError, "validated fields missing") }
        guard let user = try await accounts.user(id: userID) else { throw APIError(.unauthorized, "This account no longer exists.") }
        let (member, change) = try await members.accept(tokenHash: SHA256.hash(token), userID: userID, email: user.email, at: clock.now, origin: request.origin)
        authenticator.revocations.record(change)
        var json = member.json
        if case .object(var object) = json {
            object["workspace_id"] = .string(member.workspaceID)
            json = .object(object)
        }
        return Self.json(200, json)
    }
}
