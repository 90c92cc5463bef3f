import TroupeCore

/// A draft made ready to chain, off the writer's thread: its id, and its canonical form (RFC
/// 8785, keys sorted) cut where the writer puts what only it knows — `prev_hash`, `seq` and
/// `timestamp` — so that chaining it costs the writer a concatenation and one SHA-256, not a
/// JSON tree sorted and written. ``AuditEntry/expectedHash()`` computes the same bytes the
/// general way; verify uses that, so the two can never disagree unnoticed.
struct PreparedAudit: Sendable {
    /// The workspace is not in the canonical form: only which chain the entry joins.
    var draft: AuditDraft
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
        return (AuditEntry(id: id, seq: seq, timestamp: timestamp, record: draft, prevHash: prevHash, hash: Hex.encode(digest)), digest)
    }
}
