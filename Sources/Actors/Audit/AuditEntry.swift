import TroupeCore

/// One entry of a workspace's audit chain (API.md, "Audit log"): who did what to which target,
/// from which request, chained to the entry before by `prev_hash`.
///
/// `hash = hex(SHA-256(prev_hash + "\n" + JCS(entry without hash)))`, over the entry exactly
/// as the API shows it (``json(includingHash:)``), so that anyone holding the entries can check
/// the chain with any RFC 8785 implementation.
public struct AuditEntry: Sendable, Equatable {
    /// The first entry's `prev_hash`.
    public static let genesisHash = String(repeating: "0", count: 64)

    public let id: String
    public let seq: Int64
    public let timestamp: Timestamp
    public let actor: AuditActor
    public let event: String
    public let targetType: String
    public let targetID: String?
    public let note: String?
    public let requestID: String?
    public let ip: String?
    public let prevHash: String
    public let hash: String

    /// The entry as the API shows it; without `hash`, what the hash is computed over.
    public func json(includingHash: Bool = true) -> JSON {
        var actorObject = JSONObject([("type", .string(actor.type)), ("id", .string(actor.id))])
        if let email = actor.email { actorObject["email"] = .string(email) }
        var object = JSONObject([
            ("id", .string(id)), ("seq", .int(seq)), ("timestamp", .string(timestamp.rfc3339)), ("actor", .object(actorObject)),
            ("event", .string(event)), ("target_type", .string(targetType)), ("target_id", targetID.map(JSON.string) ?? .null),
            ("note", note.map(JSON.string) ?? .null), ("request_id", requestID.map(JSON.string) ?? .null),
            ("ip", ip.map(JSON.string) ?? .null), ("prev_hash", .string(prevHash)),
        ])
        if includingHash { object["hash"] = .string(hash) }
        return .object(object)
    }

    /// The hash this entry must carry, given its fields and `prevHash`. (Every field is a
    /// string, an integer or null, so the canonical form cannot meet a non-finite number.)
    public func expectedHash() throws(CanonicalJSON.NonFiniteNumber) -> String {
        var digest = SHA256()
        digest.update(prevHash.utf8)
        digest.update(CollectionOfOne(UInt8(ascii: "\n")))
        digest.update(try CanonicalJSON.encode(json(includingHash: false)))
        return Hex.encode(digest.finalize())
    }

    /// A new entry after `prevHash`, its hash computed.
    init(draft: AuditDraft, id: String, seq: Int64, at timestamp: Timestamp, prevHash: String) throws(CanonicalJSON.NonFiniteNumber) {
        let unhashed = AuditEntry(id: id, seq: seq, timestamp: timestamp, actor: draft.actor, event: draft.event, targetType: draft.targetType,
                                  targetID: draft.targetID, note: draft.note, requestID: draft.requestID, ip: draft.ip,
                                  prevHash: prevHash, hash: "")
        self = unhashed.withHash(try unhashed.expectedHash())
    }

    public init(id: String, seq: Int64, timestamp: Timestamp, actor: AuditActor, event: String, targetType: String, targetID: String?,
                note: String?, requestID: String?, ip: String?, prevHash: String, hash: String) {
        self.id = id
        self.seq = seq
        self.timestamp = timestamp
        self.actor = actor
        self.event = event
        self.targetType = targetType
        self.targetID = targetID
        self.note = note
        self.requestID = requestID
        self.ip = ip
        self.prevHash = prevHash
        self.hash = hash
    }

    private func withHash(_ hash: String) -> AuditEntry {
        AuditEntry(id: id, seq: seq, timestamp: timestamp, actor: actor, event: event, targetType: targetType, targetID: targetID,
                   note: note, requestID: requestID, ip: ip, prevHash: prevHash, hash: hash)
    }
}

/// Who an audit entry names: a person (with their email when known) or an API key.
public struct AuditActor: Sendable, Equatable {
    public static let user = "user"
    public static let apiKey = "api_key"

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

/// An entry before the journal chains it: everything but its id, seq, time and hashes.
public struct AuditDraft: Sendable, Equatable {
    public let workspaceID: String
    public let actor: AuditActor
    public let event: String
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
