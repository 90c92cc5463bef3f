import TroupePersistence

/// The server's tables beside the actors' snapshots: people, memberships, invitations, API
/// keys, daily request counts, idempotent answers, locks and the server's own settings. Their
/// steps sit in ``TroupeRuntime/migrations``, the one ordered list of the database.
public enum AccountSchema {
    public static let migrations: [Migration] = [
        Migration("accounts-1", sql: """
            CREATE TABLE server_settings (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                name TEXT,
                password_hash BLOB NOT NULL,
                password_salt BLOB NOT NULL,
                password_iterations INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE memberships (
                workspace_id TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users(id),
                role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
                joined_at INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, user_id)
            ) WITHOUT ROWID;
            CREATE INDEX memberships_by_user ON memberships (user_id, joined_at);
            CREATE TABLE invitations (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                email TEXT NOT NULL,
                role TEXT NOT NULL,
                token_hash BLOB NOT NULL UNIQUE,
                expires_at INTEGER NOT NULL,
                accepted_at INTEGER,
                created_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                name TEXT NOT NULL,
                prefix TEXT NOT NULL,
                key_hash BLOB NOT NULL UNIQUE,
                scopes TEXT NOT NULL,
                expires_at INTEGER,
                disabled INTEGER NOT NULL DEFAULT 0,
                revoked_at INTEGER,
                created_at INTEGER NOT NULL,
                last_used_at INTEGER
            ) WITHOUT ROWID;
            CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at, id);
            CREATE TABLE usage_daily (
                workspace_id TEXT NOT NULL,
                day TEXT NOT NULL,
                requests INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, day)
            ) WITHOUT ROWID;
            """),
        // Membership changes of the last session lifetime: a session token issued before a
        // member's role changed or they were removed must stop working (see SessionRevocations).
        Migration("accounts-2", sql: """
            CREATE TABLE membership_changes (
                workspace_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                role TEXT,
                changed_at INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, user_id)
            ) WITHOUT ROWID;
            CREATE INDEX membership_changes_by_time ON membership_changes (changed_at);
            CREATE INDEX invitations_by_email ON invitations (workspace_id, email);
            CREATE INDEX memberships_by_workspace ON memberships (workspace_id, joined_at, user_id);
            """),
        // The first response to each Idempotency-Key, replayed for 24 hours.
        Migration("accounts-3", sql: """
            CREATE TABLE idempotency_keys (
                workspace_id TEXT NOT NULL,
                key TEXT NOT NULL,
                request_hash BLOB NOT NULL,
                status INTEGER NOT NULL,
                content_type TEXT,
                body BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, key)
            ) WITHOUT ROWID;
            CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
            """),
        // A row per lock key ever used: it keeps the key's last fencing token after release.
        Migration("accounts-4", sql: """
            CREATE TABLE locks (
                workspace_id TEXT NOT NULL,
                key TEXT NOT NULL,
                owner TEXT,
                fencing_token INTEGER NOT NULL,
                acquired_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (workspace_id, key)
            ) WITHOUT ROWID;
            CREATE INDEX locks_held ON locks (workspace_id, acquired_at, key) WHERE owner IS NOT NULL;
            """),
    ]
}
