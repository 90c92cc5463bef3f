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

/// A draft made ready to chain, off the writer's thread: its id, and its canonical form (RFC
/// 8785, keys sorted) cut where the writer puts what only it knows — `prev_hash`, `seq` and
/// `timestamp` — so that chaining it costs the writer a concatenation and one SHA-256, not a
/// JSON tree sorted and written. ``AuditEntry/expectedHash()`` computes the same bytes the
/// general way; verify uses that, so the two can never disagree unnoticed.
struct PreparedAudit: Sendable {
    let draft: AuditDraft
    let id: String
    /// `{"actor":{…},"event":…,"id":…,"ip":…,"note":…,"prev_hash":"`
    let head: [UInt8]
    /// `","request_id":…,"seq":`
    let middle: [UInt8]
    /// `,"target_id":…,"target_type":…,"timestamp":"`
    let tail: [UInt8]

    init(_ draft: AuditDraft) {
        self.draft = draft
        // Audit ids name entries and grant nothing: made as request ids are.
        id = CorrelationID.make(prefix: "aud")
        var writer = JSONWriter(capacity: 256)
        func key(_ name: String, first: Bool = false) {
            writer.writeRaw((first ? "\"" : ",\"").utf8)
            writer.writeRaw(name.utf8)
            writer.writeRaw("\":".utf8)
        }
        func value(_ text: String?) {
            if let text { writer.writeString(text) } else { writer.writeNull() }
        }
        writer.writeRaw("{".utf8)
        key("actor", first: true)
        writer.writeRaw("{".utf8)
        if let email = draft.actor.email {
            key("email", first: true)
            value(email)
            key("id")
        } else {
            key("id", first: true)
        }
        value(draft.actor.id)
        key("type")
        value(draft.actor.type)
        writer.writeRaw("}".utf8)
        key("event")
        value(draft.event)
        key("id")
        value(id)
        key("ip")
        value(draft.ip)
        key("note")
        value(draft.note)
        key("prev_hash")
        writer.writeRaw("\"".utf8)
        head = writer.bytes
        writer = JSONWriter(capacity: 64)
        writer.writeRaw("\"".utf8)
        key("request_id")
        value(draft.requestID)
        key("seq")
        middle = writer.bytes
        writer = JSONWriter(capacity: 128)
        key("target_id")
        value(draft.targetID)
        key("target_type")
        value(draft.targetType)
        key("timestamp")
        writer.writeRaw("\"".utf8)
        tail = writer.bytes
    }

    /// The entry at `seq` after `prevHash`, stamped `timestamp`, with its hash (also as bytes).
    func entry(seq: Int64, prevHash: String, at timestamp: Timestamp) -> (entry: AuditEntry, digest: [UInt8]) {
        var message: [UInt8] = []
        message.reserveCapacity(prevHash.utf8.count * 2 + head.count + middle.count + tail.count + 48)
        message += prevHash.utf8
        message.append(UInt8(ascii: "\n"))
        message += head
        message += prevHash.utf8
        message += middle
        message += String(seq).utf8
        message += tail
        timestamp.appendRFC3339(to: &message)
        message += "\"}".utf8
        let digest = SHA256.hash(message)
        return (AuditEntry(id: id, seq: seq, timestamp: timestamp, actor: draft.actor, event: draft.event, targetType: draft.targetType,
                           targetID: draft.targetID, note: draft.note, requestID: draft.requestID, ip: draft.ip, prevHash: prevHash,
                           hash: Hex.encode(digest)), digest)
    }
}
