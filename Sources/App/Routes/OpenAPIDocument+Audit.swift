import TroupeCore

/// The audit chain's part of the document.
extension OpenAPIDocument {
    private static let filters: [JSON] = [
        ["name": "since", "in": "query", "required": false, "schema": time, "description": "Entries at or after this time."],
        ["name": "until", "in": "query", "required": false, "schema": time, "description": "Entries before this time."],
        ["name": "actor", "in": "query", "required": false, "schema": ["type": "string", "minLength": 1, "maxLength": 128],
         "description": "Entries of this user or API key id."],
        ["name": "event", "in": "query", "required": false, "schema": ["type": "string", "minLength": 1, "maxLength": 128],
         "description": "Entries of this event (run.created, access.denied, auth.login_failed, …)."],
    ]

    static let auditOperations: [Operation] = [
        Operation(method: "get", path: "/v1/audit/logs",
                  summary: "The workspace's audit chain, newest first (audit:read; any member, viewers included). Every change route's success is an entry written in the change's transaction; a refusal with 403 or 404 is an `access.denied` entry, the same whether the target is absent or another workspace's (note: `METHOD /pattern status`); a wrong password for a known email is `auth.login_failed` in each of the user's workspaces. Claims, heartbeats, workspace switches and validations are not changes on the record. A cursor is bound to its filters.",
                  authenticated: true, success: ("200", list("AuditEntry")), errors: ["400", "401", "403", "429"], parameters: filters),
        Operation(method: "get", path: "/v1/audit/verify",
                  summary: "Recomputes the workspace's chain in seq order: hash = hex(SHA-256(prev_hash + \"\\n\" + JCS(entry without hash))) with RFC 8785's canonical JSON of the entry exactly as /v1/audit/logs shows it, the first prev_hash 64 zeros. first_invalid_seq is the smallest seq where it breaks: an edited entry's, a deleted entry's own (the first seq missing), or a moved one's. anchor is {seq, hash} of the last entry found valid (null for an empty chain): kept by a client, a later verify that no longer reaches it shows entries were cut from the end. The chain is read in pieces of 1,000 entries, each a read that waits behind every other read queued, so a long chain's verification never stalls another workspace's requests; one verification per workspace at a time (429 with Retry-After while one runs). The server never repairs a chain; `troupe verify-audit --db PATH` checks the file offline the same way.",
                  authenticated: true, success: ("200", ref("AuditVerification")), errors: ["401", "403", "429"]),
    ]

    private static let nullable: JSON = ["type": ["string", "null"]]

    /// An entry as /v1/audit/logs shows it (and as its hash covers it, without `hash`).
    static let auditEntrySchema = object([
        ("id", string), ("seq", ["type": "integer", "minimum": 1]), ("timestamp", time),
        ("actor", object([("type", ["type": "string", "enum": ["user", "api_key", "server"]]), ("id", string), ("email", string)], required: ["type", "id"])),
        ("event", string), ("target_type", string), ("target_id", nullable), ("note", nullable), ("request_id", nullable), ("ip", nullable),
        ("prev_hash", ["type": "string", "pattern": "^[0-9a-f]{64}$"]), ("hash", ["type": "string", "pattern": "^[0-9a-f]{64}$"]),
    ], required: ["id", "seq", "timestamp", "actor", "event", "target_type", "target_id", "note", "request_id", "ip", "prev_hash", "hash"])

    static let auditVerificationSchema = object([
        ("valid", ["type": "boolean"]), ("checked_count", ["type": "integer", "minimum": 0]), ("first_invalid_seq", ["type": ["integer", "null"]]),
        ("anchor", ["oneOf": [object([("seq", ["type": "integer", "minimum": 1]), ("hash", ["type": "string", "pattern": "^[0-9a-f]{64}$"])],
                                     required: ["seq", "hash"]), ["type": "null"]]]),
    ], required: ["valid", "checked_count", "first_invalid_seq", "anchor"])
}
