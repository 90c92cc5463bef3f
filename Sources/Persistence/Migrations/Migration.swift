/// One named, ordered step of the schema's history. Once released, a migration is never edited
/// or reordered: change the schema by appending a new one.
public struct Migration: Sendable {
    /// A stable name, recorded in the database when the step is applied.
    public let name: String
    let apply: @Sendable (Database) throws -> Void

    public init(_ name: String, apply: @escaping @Sendable (Database) throws -> Void) {
        self.name = name
        self.apply = apply
    }

    /// A migration that runs SQL statements.
    public init(_ name: String, sql: String) {
        self.init(name) { db in try db.execute(sql) }
    }

    /// A migration that adds `column` (of `definition`, such as `TEXT`) to `table` unless the
    /// table has it already (a copy of the database made by a build that wrote it), then runs `sql`.
    public init(_ name: String, adding column: String, _ definition: String, to table: String, then sql: String = "") {
        self.init(name) { db in
            let columns = try db.query("SELECT name FROM pragma_table_info(?)", [.text(table)]) { $0.string(at: 0) ?? "" }
            if !columns.contains(column) { try db.execute("ALTER TABLE \(table) ADD COLUMN \(column) \(definition)") }
            if !sql.isEmpty { try db.execute(sql) }
        }
    }
}
