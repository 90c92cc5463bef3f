import TroupePersistence

/// The columns today's code writes that later migrations add: a test that opens a database
/// migrated by an older list (a database from before) and writes to it with today's stores
/// adds them first, as such a database would have to have them. Their migrations add a column
/// only where it is missing.
enum TodaysColumns {
    static let columns = [("snapshots", "schedule_id", "TEXT"), ("workflow_versions", "timeout_ms", "INTEGER")]

    static func add(toDatabaseAt path: String) throws {
        let db = try Database(path: path)
        defer { db.close() }
        for (table, column, definition) in columns {
            let present = try db.query("SELECT name FROM pragma_table_info(?)", [.text(table)]) { $0.string(at: 0) ?? "" }
            if !present.contains(column) { try db.execute("ALTER TABLE \(table) ADD COLUMN \(column) \(definition)") }
        }
    }
}
