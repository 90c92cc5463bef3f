/// Who asked for a change and how: the principal (nil for the server's own work: a timer, a
/// lease expiry, recovery), the request's id and client address, the audit entry the change
/// is to carry, and — when the request carried an `Idempotency-Key` — the answer to keep
/// with the change.
public struct ChangeOrigin: Sendable {
    public var principal: Principal?
    public var requestID: String?
    public var ip: String?
    /// Committed in the change's transaction, so the resource never exists without its answer.
    public var answer: IdempotentAnswer?
    /// Written in the transaction of the first change that commits with this origin.
    public var audit: AuditIntent?

    public init(principal: Principal?, requestID: String?, ip: String?, answer: IdempotentAnswer? = nil, audit: AuditIntent? = nil) {
        self.principal = principal
        self.requestID = requestID
        self.ip = ip
        self.answer = answer
        self.audit = audit
    }

    /// The server acting by itself.
    public static let system = ChangeOrigin(principal: nil, requestID: nil, ip: nil)
}
