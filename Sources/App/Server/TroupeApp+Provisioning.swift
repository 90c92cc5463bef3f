import TroupeActors
import TroupeCore
import TroupePersistence

extension TroupeApp {
    /// What ``bootstrap(email:password:workspaceName:plan:)`` made.
    struct Bootstrap: Sendable {
        let userID: String
        let workspaceID: String
        let token: String
        let apiKey: String
    }

    /// An owner, their workspace and an all-scopes API key (`troupe bootstrap`).
    func bootstrap(email: String, password: String, workspaceName: String, plan: Plan) async throws -> Bootstrap {
        guard EmailAddress.isValid(email) else { throw APIError(.validationError, "--email must be an address such as ada@example.com") }
        guard password.count >= 10 else { throw APIError(.validationError, "--password must be at least 10 characters") }
        let (hash, salt) = try await passwords.hash(password)
        let now = clock.now
        let user = UserRecord(id: RandomID.make(prefix: "usr"), email: email.lowercased(), name: nil, passwordHash: hash,
                              passwordSalt: salt, passwordIterations: passwords.iterations, createdAt: now)
        let workspaceID = RandomID.make(prefix: "ws")
        try await accounts.signUp(user: user, workspaceID: workspaceID,
                                  workspace: TenantState(name: workspaceName, plan: plan, createdAt: now), at: now)
        let key = try await createAllScopesKey(workspaceID: workspaceID, name: "bootstrap")
        return Bootstrap(userID: user.id, workspaceID: workspaceID,
                         token: authenticator.issueToken(userID: user.id, workspaceID: workspaceID, role: .owner), apiKey: key)
    }

    /// `--dev`: on the first start only, a demo workspace and an all-scopes key for it, returned
    /// once to be printed; nil on later starts.
    func provisionDevDemo() async throws -> (workspaceID: String, apiKey: String)? {
        guard try await accounts.claimDevDemo() else { return nil }
        let workspaceID = try await runtime.createTenant(name: "Demo", plan: .growth)
        return (workspaceID, try await createAllScopesKey(workspaceID: workspaceID, name: "dev demo"))
    }

    private func createAllScopesKey(workspaceID: String, name: String) async throws -> String {
        let raw = Authenticator.keyPrefix + SecretGenerator.alphanumeric(40)
        try await keys.insert(APIKeyRecord(
            id: RandomID.make(prefix: "key"), workspaceID: workspaceID, name: name, prefix: String(raw.prefix(12)),
            hash: SHA256.hash(raw), scopes: Scope.allCases, expiresAt: nil, disabled: false, revokedAt: nil,
            createdAt: clock.now, lastUsedAt: nil), origin: .system)
        return raw
    }
}
