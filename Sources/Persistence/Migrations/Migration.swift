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
}
