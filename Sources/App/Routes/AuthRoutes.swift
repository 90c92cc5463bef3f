import Foundation
import TroupeActors
import TroupeCore
import TroupeTransport

/// Sign-up, login and the caller's own account (API.md, Auth).
struct AuthRoutes: RouteGroup {
    let gate: RouteGate
    let accounts: AccountStore
    let authenticator: Authenticator
    let passwords: PasswordHasher
    let loginThrottle: LoginThrottle
    let loginAddresses: LoginAddressGate
    let tenants: ActorRegistry<TenantActor>
    let workspaceView: WorkspaceJSON
    let config: ServerConfig
    let clock: any WallClock
    let failures: BackgroundFailures

    func add(to router: inout Router) {
        router.post("/v1/auth/signup", gate.open("/v1/auth/signup") { [self] request in try await signUp(request) })
        router.post("/v1/auth/login", gate.open("/v1/auth/login") { [self] request in try await logIn(request) })
        router.get("/v1/auth/me", gate.authenticated("/v1/auth/me") { [self] request in try await me(request) })
    }

    private func signUp(_ request: APIRequest) async throws -> HTTPResponse {
        guard config.signup else { throw APIError(.notFound, "Signup is turned off on this server; ask an admin for an invitation.") }
        let admitted = try loginAddresses.admit(request.http.remoteAddress, at: clock.now)
        defer { loginAddresses.release(admitted) }
        var body = try JSONBody(request.http, allowed: ["email", "password", "name", "workspace_name"])
        let email = try body.string("email", required: true, maxLength: 254)
        let password = try body.string("password", required: true, maxLength: 1024)
        let name = try body.string("name", maxLength: 100)
        let workspaceName = try body.string("workspace_name", required: true, maxLength: 100)
        if let email, !EmailAddress.isValid(email) { body.problem("email", "email must be an address such as ada@example.com.") }
        if let password, password.count < 10 { body.problem("password", "password must be at least 10 characters.") }
        if let workspaceName, workspaceName.trimmingCharacters(in: .whitespaces).isEmpty {
            body.problem("workspace_name", "workspace_name must not be blank.")
        }
        try body.finish()
        guard let email, let password, let workspaceName else { throw APIError(.internalError, "validated fields missing") }
        let (hash, salt) = try await passwords.hash(password)
        let now = clock.now
        let user = UserRecord(id: RandomID.make(prefix: "usr"), email: email.lowercased(), name: name, passwordHash: hash,
                              passwordSalt: salt, passwordIterations: passwords.iterations, createdAt: now)
        let workspaceID = RandomID.make(prefix: "ws")
        let workspace = TenantState(name: workspaceName, plan: .starter, createdAt: now)
        // The new workspace's chain starts with its owner's sign-up.
        var origin = request.origin
        origin.audit = AuditIntent(AuditDraft(workspaceID: workspaceID, actor: AuditActor(type: AuditActor.user, id: user.id, email: user.email),
                                              event: "user.signed_up", targetType: "user", targetID: user.id,
                                              requestID: request.requestID, ip: request.http.remoteAddress))
        try await accounts.signUp(user: user, workspaceID: workspaceID, workspace: workspace, at: now, origin: origin)
        let token = authenticator.issueToken(userID: user.id, workspaceID: workspaceID, role: .owner)
        return Self.json(201, ["token": .string(token), "user": Self.userJSON(user),
                               "workspace": workspaceView.json(id: workspaceID, state: workspace)])
    }

    /// A dummy hash checked when the email is unknown, so both failures take the same time.
    private static let absentUserSalt = SecretGenerator.bytes(16)

    private func logIn(_ request: APIRequest) async throws -> HTTPResponse {
        let admitted = try loginAddresses.admit(request.http.remoteAddress, at: clock.now)
        defer { loginAddresses.release(admitted) }
        var body = try JSONBody(request.http, allowed: ["email", "password"])
        let email = try body.string("email", required: true, maxLength: 254)
        let password = try body.string("password", required: true, maxLength: 1024)
        try body.finish()
        guard let email, let password else { throw APIError(.internalError, "validated fields missing") }
        let address = email.lowercased()
        if let wait = loginThrottle.retryAfter(email: address, at: clock.now) {
            var error = APIError(.rateLimited, "Too many failed sign-ins for this email; retry in \(wait) s.")
            error.retryAfterSeconds = wait
            throw error
        }
        try passwords.checkCapacity()
        let refused = APIError(.unauthorized, "The email or password is wrong.")
        guard let user = try await accounts.user(email: address) else {
            _ = try await passwords.verify(password, hash: [], salt: Self.absentUserSalt, iterations: passwords.iterations)
            loginThrottle.recordFailure(email: address, at: clock.now)
            throw refused
        }
        guard try await passwords.verify(password, hash: user.passwordHash, salt: user.passwordSalt, iterations: user.passwordIterations) else {
            loginThrottle.recordFailure(email: address, at: clock.now)
            // After the 401 goes out: its commit must not make a known email's refusal slower
            // than an unknown one's.
            Task { [self] in await recordFailedLogin(of: user, request) }
            throw refused
        }
        loginThrottle.recordSuccess(email: address)
        if user.passwordIterations != passwords.iterations {
            // Stored under another count (the config changed): rehashed now that the password
            // is known, so every stored hash converges on the count the unknown-email dummy uses.
            let (hash, salt) = try await passwords.hash(password)
            try await accounts.replacePasswordHash(userID: user.id, hash: hash, salt: salt, iterations: passwords.iterations)
        }
        let workspaceID: String
        let role: Role
        if let first = try await accounts.memberships(userID: user.id).first {
            (workspaceID, role) = (first.workspaceID, first.role)
        } else {
            // Removed from every workspace: a token needs one, so the person gets a new starter
            // workspace of their own, as at signup, from which they can accept invitations.
            workspaceID = RandomID.make(prefix: "ws")
            role = .owner
            let now = clock.now
            try await accounts.createWorkspace(id: workspaceID, state: TenantState(name: "Personal", plan: .starter, createdAt: now),
                                               owner: user.id, at: now, origin: request.origin)
        }
        let token = authenticator.issueToken(userID: user.id, workspaceID: workspaceID, role: role)
        return Self.json(200, ["token": .string(token), "user": Self.userJSON(user)])
    }

    /// A wrong password for a known email goes on the record of each of the user's workspaces,
    /// and nowhere else (an unknown email has no workspace to tell). In the background: a
    /// failure is logged and counted, and retried with back-off a few times.
    private func recordFailedLogin(of user: UserRecord, _ request: APIRequest) async {
        var backoff = Backoff()
        for _ in 0..<5 {
            do {
                let drafts = try await accounts.memberships(userID: user.id).map { membership in
                    AuditDraft(workspaceID: membership.workspaceID, actor: AuditActor(type: AuditActor.user, id: user.id, email: user.email),
                               event: "auth.login_failed", targetType: "user", targetID: user.id, requestID: request.requestID,
                               ip: request.http.remoteAddress)
                }
                guard !drafts.isEmpty else { return }
                try await gate.journal.commit(Change(request.origin) { transaction in
                    for draft in drafts { transaction.audit(draft) }
                })
                return
            } catch {
                failures.record("failed_login_audit", error)
                do { try await Task.sleep(for: backoff.failed()) } catch { return }
            }
        }
    }

    private func me(_ request: APIRequest) async throws -> HTTPResponse {
        let caller = try request.caller
        switch caller.kind {
        case .user(let userID, let role):
            guard let user = try await accounts.user(id: userID) else { throw APIError(.unauthorized, "This account no longer exists.") }
            let memberships = try await accounts.memberships(userID: userID)
            return Self.json(200, [
                "user": Self.userJSON(user), "workspace_id": .string(caller.workspaceID), "role": .string(role.rawValue),
                "workspaces": .array(memberships.map {
                    ["id": .string($0.workspaceID), "name": .string($0.workspaceName), "role": .string($0.role.rawValue)]
                }),
            ])
        case .apiKey(let keyID, let scopes):
            // A key acts for its workspace, not for a person: no user and no role.
            let workspaceID = caller.workspaceID
            let name = try await tenants.call(workspaceID) { $0.name }
            return Self.json(200, [
                "user": .null, "api_key": ["id": .string(keyID), "scopes": .array(scopes.map(\.rawValue).sorted().map(JSON.string))],
                "workspace_id": .string(workspaceID), "role": .null,
                "workspaces": [["id": .string(workspaceID), "name": .string(name), "role": .null]],
            ])
        }
    }

    static func userJSON(_ user: UserRecord) -> JSON {
        ["id": .string(user.id), "email": .string(user.email), "name": user.name.map(JSON.string) ?? .null,
         "created_at": .string(user.createdAt.rfc3339)]
    }

}
