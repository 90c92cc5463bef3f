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
    /// Who did what to which target, from which request (its `workspaceID` is the chain's).
    public let record: AuditDraft
    public let prevHash: String
    public let hash: String

    public var actor: AuditActor { record.actor }
    public var event: String { record.event }
    public var targetType: String { record.targetType }
    public var targetID: String? { record.targetID }
    public var note: String? { record.note }
    public var requestID: String? { record.requestID }
    public var ip: String? { record.ip }

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

    public init(id: String, seq: Int64, timestamp: Timestamp, record: AuditDraft, prevHash: String, hash: String) {
        self.id = id
        self.seq = seq
        self.timestamp = timestamp
        self.record = record
        self.prevHash = prevHash
        self.hash = hash
    }
}

