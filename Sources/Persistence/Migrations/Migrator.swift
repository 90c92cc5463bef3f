import TroupeCore

/// Brings a database's schema up to date by applying the migrations it has not seen yet.
///
/// Applied steps are recorded in `troupe_migrations`, by name: a step is pending when its name
/// is not recorded, wherever it sits in the list (a database made by an older list that held
/// the same steps in another order is brought up to date, not refused). Each pending step runs
/// in its own transaction together with its record, so a failing step leaves the database
/// exactly at the previous one. A database that records a step this list does not have
/// (written by a newer Troupe) is refused with ``SQLiteError/Kind/schemaTooNew`` before
/// anything is touched.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Applies every pending migration in order and returns the names it applied.
    @discardableResult
    public func migrate(_ db: Database) throws -> [String] {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS troupe_migrations (
                seq INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                applied_at_ms INTEGER NOT NULL
            )
            """)
        let recorded = try appliedNames(db)
        let known = Set(migrations.map(\.name))
        for (seq, name) in recorded.enumerated() where !known.contains(name) {
            throw SQLiteError(
                kind: .schemaTooNew, code: 1,
                message: "\(db.path) was migrated by a newer version of Troupe (unknown migration "
                    + "'\(name)' at step \(seq + 1)); upgrade Troupe to open it")
        }
        let done = Set(recorded)
        var applied: [String] = []
        for migration in migrations where !done.contains(migration.name) {
            try db.write { db in
                try migration.apply(db)
                try db.execute(
                    "INSERT INTO troupe_migrations (seq, name, applied_at_ms) VALUES ((SELECT coalesce(max(seq) + 1, 0) FROM troupe_migrations), ?, ?)",
                    [.text(migration.name), .integer(SystemClock().now.millisecondsSinceEpoch)])
            }
            applied.append(migration.name)
        }
        return applied
    }

    /// The names recorded as applied, in order.
    public func appliedNames(_ db: Database) throws -> [String] {
        try db.query("SELECT name FROM troupe_migrations ORDER BY seq") { $0.string(at: 0) ?? "" }
    }
}
