import TroupeActors

/// The route-side rules of a ``Principal``: API.md's 403s for a role or scope it lacks.
extension Principal {
    /// Refuses unless the caller meets `rule`.
    func require(_ rule: AccessRule) throws(APIError) {
        try require(rule.role, orScope: rule.scope)
    }

    /// Allows a person of at least `role`, or a key holding `scope`; refuses otherwise with
    /// API.md's 403s. A nil `scope` means the route is closed to API keys.
    func require(_ role: Role, orScope scope: Scope?) throws(APIError) {
        switch kind {
        case .user(_, let held):
            guard held >= role else {
                throw APIError(.forbidden, "Your role (\(held.rawValue)) does not allow this; it needs \(role.rawValue) or above.")
            }
        case .apiKey(_, let scopes):
            guard let scope else { throw APIError(.forbidden, "API keys cannot call this route; sign in as a member.") }
            guard scopes.contains(scope) else {
                var error = APIError(.missingScope, "This API key lacks the \(scope.rawValue) scope.")
                error.requiredScope = scope.rawValue
                throw error
            }
        }
    }

    /// A workflow with a `sandbox` step runs commands: defining, replacing or running one needs
    /// what a sandbox needs (a member, or a key with `sandboxes:write`) on top of the route's own.
    func requireSandboxAccess(for steps: [WorkflowStep]) throws(APIError) {
        guard steps.contains(where: { $0.kind == .sandbox }) else { return }
        try require(.member, orScope: .sandboxesWrite)
    }

    /// Allows a person of at least `role`; API keys are refused (keys never manage keys or members).
    func requireUser(_ role: Role) throws(APIError) -> (id: String, role: Role) {
        try require(role, orScope: nil)
        guard case .user(let id, let held) = kind else { throw APIError(.forbidden, "API keys cannot call this route.") }
        return (id, held)
    }
}

/// What a route asks of its caller: a person of at least `role`, or an API key holding `scope`
/// (nil: closed to keys). Create routes declare theirs so that it is checked before an
/// idempotent replay.
struct AccessRule: Sendable {
    let role: Role
    let scope: Scope?

    init(_ role: Role, orScope scope: Scope?) {
        self.role = role
        self.scope = scope
    }
}
