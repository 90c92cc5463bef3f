import TroupeCore
import TroupePersistence

/// A person's membership of a workspace, as the members list shows it.
public struct MemberRecord: Sendable {
    public let workspaceID: String
    public let userID: String
    public let email: String
    public let role: Role
    public let joinedAt: Timestamp

    public var json: JSON {
        ["user_id": .string(userID), "email": .string(email), "role": .string(role.rawValue), "joined_at": .string(joinedAt.rfc3339)]
    }

    public init(workspaceID: String, userID: String, email: String, role: Role, joinedAt: Timestamp) {
        self.workspaceID = workspaceID
        self.userID = userID
        self.email = email
        self.role = role
        self.joinedAt = joinedAt
    }
}

/// An invitation to join a workspace; only the SHA-256 of its token is stored.
public struct InvitationRecord: Sendable {
    public let id: String
    public let workspaceID: String
    public let email: String
    public let role: Role
    public let tokenHash: [UInt8]
    public let expiresAt: Timestamp
    public let createdAt: Timestamp

    public init(id: String, workspaceID: String, email: String, role: Role, tokenHash: [UInt8], expiresAt: Timestamp, createdAt: Timestamp) {
        self.id = id
        self.workspaceID = workspaceID
        self.email = email
        self.role = role
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }
}

/// Members and invitations. Every change runs in one writer transaction that reads the roles
/// as they are, applies ``MembershipRules``, writes, and records the change for
/// ``SessionRevocations`` in `membership_changes` — so concurrent changes can never leave a
/// workspace without an owner.
public struct MemberStore: Sendable {
    public let store: SnapshotStore

    /// A page of `workspaceID`'s members, newest first.
    public func members(workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [MemberRecord] {
        try await store.reader.read { db in
            var sql = """
                SELECT m.workspace_id, m.user_id, u.email, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id
                WHERE m.workspace_id = ?
                """
            var arguments: [SQLValue] = [.text(workspaceID)]
            if let cursor {
                sql += " AND (m.joined_at, m.user_id) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            return try db.query(sql + " ORDER BY m.joined_at DESC, m.user_id DESC LIMIT ?", arguments + [.integer(Int64(limit))], row: Self.member)
        }
    }

    /// Stores an invitation, replacing any earlier pending one for the same email (whose token
    /// then stops working). `conflict` when that person is already a member.
    public func invite(_ invitation: InvitationRecord, by actor: Role, origin: ChangeOrigin) async throws {
        try await store.journal.commit(origin) { db in
            try MembershipRules.checkInvite(by: actor, as: invitation.role)
            let isMember = try db.scalar("""
                SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ? AND u.email = ?
                """, [.text(invitation.workspaceID), .text(invitation.email)]) != nil
            if isMember { throw AccountRefusal(.conflict, "\(invitation.email) is already a member of this workspace.") }
            try db.execute("DELETE FROM invitations WHERE workspace_id = ? AND email = ? AND accepted_at IS NULL",
                           [.text(invitation.workspaceID), .text(invitation.email)])
            try db.execute("""
                INSERT INTO invitations (id, workspace_id, email, role, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.text(invitation.id), .text(invitation.workspaceID), .text(invitation.email), .text(invitation.role.rawValue),
                      .blob(invitation.tokenHash), .integer(invitation.expiresAt.microsecondsSinceEpoch),
                      .integer(invitation.createdAt.microsecondsSinceEpoch)])
        }
    }

    /// Makes `userID` (whose address is `email`) a member through the invitation whose token
    /// hashes to `tokenHash`. 404 for an unknown, used or expired token, 403 for another
    /// person's invitation, 409 when already a member.
    public func accept(tokenHash: [UInt8], userID: String, email: String, at now: Timestamp, origin: ChangeOrigin) async throws -> (MemberRecord, MembershipChange) {
        try await store.journal.commit(Change(origin) { transaction in
            let db = transaction.db
            let found = try db.query("""
                SELECT id, workspace_id, email, role FROM invitations
                WHERE token_hash = ? AND accepted_at IS NULL AND expires_at > ?
                """, [.blob(tokenHash), .integer(now.microsecondsSinceEpoch)]) { row -> (String, String, String, Role?) in
                (row.string(at: 0) ?? "", row.string(at: 1) ?? "", row.string(at: 2) ?? "", Role(rawValue: row.string(at: 3) ?? ""))
            }.first
            guard let (id, workspaceID, invited, invitedRole) = found, let role = invitedRole else {
                throw AccountRefusal(.notFound, "This invitation was not found, was already used, or has expired; ask for a new one.")
            }
            guard invited == email else {
                throw AccountRefusal(.forbidden, "This invitation is for another email address; sign in with the invited account.")
            }
            if try Self.role(db, workspaceID: workspaceID, userID: userID) != nil {
                throw AccountRefusal(.conflict, "You are already a member of this workspace.")
            }
            try AccountStore.insertMembership(db, workspaceID: workspaceID, userID: userID, role: role, at: now)
            try db.execute("UPDATE invitations SET accepted_at = ? WHERE id = ?", [.integer(now.microsecondsSinceEpoch), .text(id)])
            let change = MembershipChange(workspaceID: workspaceID, userID: userID, role: role, changedAt: now)
            try Self.record(db, change)
            transaction.fileAudit(in: workspaceID)  // the joined workspace's record, not the caller's current one
            return (MemberRecord(workspaceID: workspaceID, userID: userID, email: email, role: role, joinedAt: now), change)
        })
    }

    /// Gives `userID` the role `role`; the change is nil when the role was already that.
    public func changeRole(
        workspaceID: String, userID: String, to role: Role, by actor: Role, at now: Timestamp
    , origin: ChangeOrigin) async throws -> (MemberRecord, MembershipChange?) {
        try await store.journal.commit(origin) { db in
            let member = try Self.existing(db, workspaceID: workspaceID, userID: userID)
            try MembershipRules.checkRoleChange(by: actor, from: member.role, to: role, owners: try Self.owners(db, workspaceID))
            guard member.role != role else { return (member, nil) }
            try db.execute("UPDATE memberships SET role = ? WHERE workspace_id = ? AND user_id = ?",
                           [.text(role.rawValue), .text(workspaceID), .text(userID)])
            let change = MembershipChange(workspaceID: workspaceID, userID: userID, role: role, changedAt: now)
            try Self.record(db, change)
            return (MemberRecord(workspaceID: workspaceID, userID: userID, email: member.email, role: role, joinedAt: member.joinedAt), change)
        }
    }

    /// Removes `userID` from the workspace (`actorID` equal to it: leaving).
    public func remove(workspaceID: String, userID: String, by actor: (id: String, role: Role), at now: Timestamp, origin: ChangeOrigin) async throws -> MembershipChange {
        try await store.journal.commit(origin) { db in
            let member = try Self.existing(db, workspaceID: workspaceID, userID: userID)
            try MembershipRules.checkRemoval(by: actor.role, of: member.role, isSelf: actor.id == userID,
                                             owners: try Self.owners(db, workspaceID))
            try db.execute("DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?", [.text(workspaceID), .text(userID)])
            let change = MembershipChange(workspaceID: workspaceID, userID: userID, role: nil, changedAt: now)
            try Self.record(db, change)
            return change
        }
    }

    /// Changes made at or after `since`, to rebuild ``SessionRevocations`` at start.
    public func changes(since: Timestamp) async throws -> [MembershipChange] {
        try await store.reader.read { db in
            try db.query("SELECT workspace_id, user_id, role, changed_at FROM membership_changes WHERE changed_at >= ?",
                         [.integer(since.microsecondsSinceEpoch)]) { row in
                MembershipChange(workspaceID: row.string(at: 0) ?? "", userID: row.string(at: 1) ?? "",
                                 role: row.string(at: 2).flatMap(Role.init(rawValue:)),
                                 changedAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 3)))
            }
        }
    }

    private static func member(_ row: Statement) -> MemberRecord {
        MemberRecord(workspaceID: row.string(at: 0) ?? "", userID: row.string(at: 1) ?? "", email: row.string(at: 2) ?? "",
                     role: Role(rawValue: row.string(at: 3) ?? "") ?? .viewer, joinedAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 4)))
    }

    private static func existing(_ db: Database, workspaceID: String, userID: String) throws -> MemberRecord {
        let found = try db.query("""
            SELECT m.workspace_id, m.user_id, u.email, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.workspace_id = ? AND m.user_id = ?
            """, [.text(workspaceID), .text(userID)], row: member).first
        guard let found else { throw AccountRefusal(.notFound, "Member \(userID) was not found.") }
        return found
    }

    private static func role(_ db: Database, workspaceID: String, userID: String) throws -> Role? {
        try db.scalar("SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?",
                      [.text(workspaceID), .text(userID)])?.stringValue.flatMap(Role.init(rawValue:))
    }

    private static func owners(_ db: Database, _ workspaceID: String) throws -> Int {
        Int(try db.scalar("SELECT count(*) FROM memberships WHERE workspace_id = ? AND role = 'owner'", [.text(workspaceID)])?.integerValue ?? 0)
    }

    private static func record(_ db: Database, _ change: MembershipChange) throws {
        try db.execute("""
            INSERT INTO membership_changes (workspace_id, user_id, role, changed_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role, changed_at = excluded.changed_at
            """, [.text(change.workspaceID), .text(change.userID), change.role.map { SQLValue.text($0.rawValue) } ?? SQLValue.null,
                  .integer(change.changedAt.microsecondsSinceEpoch)])
    }

    public init(store: SnapshotStore) {
        self.store = store
    }
}
