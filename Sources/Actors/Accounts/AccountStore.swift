import TroupeCore
import TroupePersistence

/// A person who can sign in.
public struct UserRecord: Sendable {
    public let id: String
    public let email: String
    public let name: String?
    public let passwordHash: [UInt8]
    public let passwordSalt: [UInt8]
    public let passwordIterations: Int
    public let createdAt: Timestamp

    public init(id: String, email: String, name: String?, passwordHash: [UInt8], passwordSalt: [UInt8], passwordIterations: Int, createdAt: Timestamp) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.passwordSalt = passwordSalt
        self.passwordIterations = passwordIterations
        self.createdAt = createdAt
    }
}

/// A workspace as one of its members sees it in a list.
public struct MembershipRecord: Sendable {
    public let workspaceID: String
    public let workspaceName: String
    public let plan: Plan
    public let role: Role
    public let joinedAt: Timestamp

    public init(workspaceID: String, workspaceName: String, plan: Plan, role: Role, joinedAt: Timestamp) {
        self.workspaceID = workspaceID
        self.workspaceName = workspaceName
        self.plan = plan
        self.role = role
        self.joinedAt = joinedAt
    }
}

/// People and memberships: SQL by hand, writes through the group-commit writer, reads through
/// the read pool. Workspaces themselves are ``TenantActor`` snapshots; a membership row ties a
/// person to one.
public struct AccountStore: Sendable {
    public let store: SnapshotStore

    /// Creates a person and their first workspace, owned by them, in one transaction.
    /// Throws `conflict` when the email is taken.
    public func signUp(user: UserRecord, workspaceID: String, workspace: TenantState, at now: Timestamp, origin: ChangeOrigin = .system) async throws {
        let saveWorkspace = SnapshotStore.saveChange(workspace, kind: TenantActor.kind, id: workspaceID, at: now)
        do {
            try await store.journal.commit(origin) { db in
                try db.execute(
                    "INSERT INTO users (id, email, name, password_hash, password_salt, password_iterations, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(user.id), .text(user.email), user.name.map(SQLValue.text) ?? .null, .blob(user.passwordHash),
                     .blob(user.passwordSalt), .integer(Int64(user.passwordIterations)), .integer(user.createdAt.microsecondsSinceEpoch)])
                try saveWorkspace(db)
                try Self.insertMembership(db, workspaceID: workspaceID, userID: user.id, role: .owner, at: now)
            }
        } catch let error as SQLiteError where error.kind == .constraint {
            throw AccountRefusal(.conflict, "An account with this email already exists; sign in instead.")
        }
    }

    /// Creates a workspace owned by `userID`.
    /// Stores a new workspace owned by `userID`; with `ownedCap`, refuses (429) when the user
    /// already owns that many, counted in the same transaction so that concurrent creations
    /// cannot pass it.
    public func createWorkspace(id: String, state: TenantState, owner userID: String, ownedCap: Int? = nil, at now: Timestamp,
                                origin: ChangeOrigin) async throws {
        let saveWorkspace = SnapshotStore.saveChange(state, kind: TenantActor.kind, id: id, at: now)
        try await store.journal.commit(origin) { db in
            if let ownedCap {
                let owned = try db.scalar("SELECT count(*) FROM memberships WHERE user_id = ? AND role = 'owner'", [.text(userID)])?.integerValue ?? 0
                if owned >= Int64(ownedCap) {
                    throw AccountRefusal(.limitReached, "You own \(owned) workspaces, this server's cap (max_workspaces_per_user); delete one first.")
                }
            }
            try saveWorkspace(db)
            try Self.insertMembership(db, workspaceID: id, userID: userID, role: .owner, at: now)
        }
    }

    public static func insertMembership(_ db: Database, workspaceID: String, userID: String, role: Role, at now: Timestamp) throws {
        try db.execute("INSERT INTO memberships (workspace_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
                       [.text(workspaceID), .text(userID), .text(role.rawValue), .integer(now.microsecondsSinceEpoch)])
    }

    /// Replaces a user's password hash (a login rehashing under the configured iteration count).
    public func replacePasswordHash(userID: String, hash: [UInt8], salt: [UInt8], iterations: Int) async throws {
        try await store.journal.commit(.system) { db in
            try db.execute("UPDATE users SET password_hash = ?, password_salt = ?, password_iterations = ? WHERE id = ?",
                           [.blob(hash), .blob(salt), .integer(Int64(iterations)), .text(userID)])
        }
    }

    public func user(email: String) async throws -> UserRecord? {
        try await store.reader.read { db in try Self.users(db, where: "email = ?", .text(email)).first }
    }

    public func user(id: String) async throws -> UserRecord? {
        try await store.reader.read { db in try Self.users(db, where: "id = ?", .text(id)).first }
    }

    private static func users(_ db: Database, where condition: String, _ value: SQLValue) throws -> [UserRecord] {
        try db.query(
            "SELECT id, email, name, password_hash, password_salt, password_iterations, created_at FROM users WHERE \(condition)",
            [value]
        ) { row in
            UserRecord(id: row.string(at: 0) ?? "", email: row.string(at: 1) ?? "", name: row.string(at: 2),
                       passwordHash: row.blob(at: 3) ?? [], passwordSalt: row.blob(at: 4) ?? [],
                       passwordIterations: Int(row.int64(at: 5)), createdAt: Timestamp(microsecondsSinceEpoch: row.int64(at: 6)))
        }
    }

    /// Every workspace `userID` belongs to, oldest membership first.
    public func memberships(userID: String) async throws -> [MembershipRecord] {
        let rows = try await store.reader.read { db in
            try db.query("""
                SELECT m.workspace_id, m.role, m.joined_at, s.state, s.schema_version
                FROM memberships m JOIN snapshots s ON s.kind = 'tenant' AND s.id = m.workspace_id
                WHERE m.user_id = ? ORDER BY m.joined_at, m.workspace_id
                """, [.text(userID)]) { row in
                (row.string(at: 0) ?? "", row.string(at: 1) ?? "", row.int64(at: 2), row.blob(at: 3) ?? [], Int(row.int64(at: 4)))
            }
        }
        // A membership whose workspace cannot be read is set aside (logged, counted), not shown.
        return rows.compactMap { workspaceID, role, joinedAt, blob, version in
            let state: TenantState
            do {
                state = try TenantState(decoding: try JSON.parse(blob), schemaVersion: version)
            } catch {
                store.setAside.record(kind: TenantActor.kind, id: workspaceID, reason: "its snapshot does not decode: \(error)")
                return nil
            }
            guard let role = Role(rawValue: role) else {
                store.setAside.record(kind: "membership", id: "\(workspaceID)/\(userID)", reason: "its role \(role) is unknown")
                return nil
            }
            return MembershipRecord(workspaceID: workspaceID, workspaceName: state.name, plan: state.plan, role: role,
                                    joinedAt: Timestamp(microsecondsSinceEpoch: joinedAt))
        }
    }

    /// `userID`'s role in `workspaceID`, or nil when not a member.
    public func role(userID: String, workspaceID: String) async throws -> Role? {
        try await store.reader.read { db in
            try db.scalar("SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?",
                          [.text(workspaceID), .text(userID)])?.stringValue.flatMap(Role.init(rawValue:))
        }
    }

    /// Whether this start is the first to provision `--dev`'s demo workspace (recorded, so
    /// that later starts do not make another).
    public func claimDevDemo() async throws -> Bool {
        try await store.journal.commit(.system) { db in
            try db.execute("INSERT OR IGNORE INTO server_settings (name, value) VALUES ('dev_demo', x'01')")
            return db.changes == 1
        }
    }

    /// The signing secret an earlier server generated and kept in the database, if one is
    /// still there (servers now keep it in a file beside the database).
    public func storedSigningSecret() async throws -> [UInt8]? {
        try await store.reader.read { db in try db.scalar("SELECT value FROM server_settings WHERE name = 'jwt_secret'")?.blobValue }
    }

    /// Removes the secret from the database, once it is safe in its file: a copy of the
    /// database alone then forges nothing.
    public func forgetStoredSigningSecret() async throws {
        try await store.journal.commit(.system) { db in
            // Overwritten where it lay, not only unlinked from the table (secure_delete, for this delete alone).
            try db.execute("PRAGMA secure_delete=ON")
            defer { _ = Result { try db.execute("PRAGMA secure_delete=OFF") } }
            try db.execute("DELETE FROM server_settings WHERE name = 'jwt_secret'")
        }
    }

    public init(store: SnapshotStore) {
        self.store = store
    }
}
