/// An entry before the journal chains it: everything but its id, seq, time and hashes.
public struct AuditDraft: Sendable, Equatable {
    /// Whose chain the entry joins.
    public var workspaceID: String
    public let actor: AuditActor
    public var event: String
    public let targetType: String
    public var targetID: String?
    public var note: String?
    public let requestID: String?
    public let ip: String?

    public init(workspaceID: String, actor: AuditActor, event: String, targetType: String, targetID: String?, note: String? = nil,
                requestID: String?, ip: String?) {
        self.workspaceID = workspaceID
        self.actor = actor
        self.event = event
        self.targetType = targetType
        self.targetID = targetID
        self.note = note
        self.requestID = requestID
        self.ip = ip
    }
}

/// Who an audit entry names: a person (with their email when known) or an API key.
public struct AuditActor: Sendable, Equatable {
    public static let user = "user"
    public static let apiKey = "api_key"
    /// The operator, through the server's command line (`troupe workspace set-plan`).
    public static let server = "server"

    /// ``user`` or ``apiKey`` (kept as the text stored, so that a stored entry reads back as it is).
    public let type: String
    public let id: String
    public let email: String?

    public init(type: String, id: String, email: String? = nil) {
        self.type = type
        self.id = id
        self.email = email
    }

    /// The actor of a principal.
    public init(_ principal: Principal, email: String? = nil) {
        switch principal.kind {
        case .user(let id, _): self.init(type: Self.user, id: id, email: email)
        case .apiKey(let id, _): self.init(type: Self.apiKey, id: id)
        }
    }
}
