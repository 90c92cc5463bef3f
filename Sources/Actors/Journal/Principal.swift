/// Who made a change, and in which workspace: a person (with their role there) or an API key
/// (with its scopes). The server resolves it from a request's token; a change the server makes
/// by itself (a timer, a lease expiry) has none (``ChangeOrigin/system``).
public struct Principal: Sendable, Equatable {
    /// A person or a key.
    public enum Kind: Sendable, Equatable {
        /// A person with a session token, and their role in the workspace.
        case user(id: String, role: Role)
        /// An API key and its scopes.
        case apiKey(id: String, scopes: Set<Scope>)
    }

    public let workspaceID: String
    public let kind: Kind

    public init(workspaceID: String, kind: Kind) {
        self.workspaceID = workspaceID
        self.kind = kind
    }

    public var apiKeyID: String? {
        if case .apiKey(let id, _) = kind { return id }
        return nil
    }

    /// `user:usr_…` or `api_key:key_…`: who, whatever their role or scopes today (an
    /// idempotent answer is bound to it; audit entries name it).
    public var identity: String {
        switch kind {
        case .user(let id, _): "user:" + id
        case .apiKey(let id, _): "api_key:" + id
        }
    }
}
