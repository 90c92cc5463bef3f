import Foundation
import Testing
import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport

@testable import TroupeApp

/// One ordered migration list: a database an embedded runtime made is the server's database.
@Suite(.timeLimit(.minutes(5)))
struct MigrationListTests {
    /// A quiet server on port 0 over the database at `path`.
    private func serverOptions(_ path: String) -> TroupeServer.Options {
        var options = TroupeServer.Options()
        options.port = 0
        options.databasePath = path
        options.logHandle = nil
        options.eventLog = nil
        options.config.passwordIterations = 1000
        return options
    }

    @Test func aDatabaseMadeByTheEmbeddedRuntimeIsServedAsItIs() async throws {
        let directory = NSTemporaryDirectory() + "troupe-migrations-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let runtime = try await TroupeRuntime.open(path: path)
        let workspace = try await runtime.createTenant(name: "Harness")
        await runtime.close()

        let server = try await TroupeServer.start(serverOptions(path))
        #expect(try await server.app.runtime.tenants.call(workspace) { $0.name } == "Harness")
        await server.shutdown(grace: .seconds(1))
    }

    /// One made by the runtime's former default list (no server tables, another order) is
    /// brought up to date, not refused.
    @Test func aDatabaseOfTheFormerRuntimeListIsCompleted() async throws {
        let directory = NSTemporaryDirectory() + "troupe-migrations-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let former = Migrator(SnapshotStore.migrations + WorkflowStore.migrations + JobStore.migrations + RunEngine.migrations
                              + RowidTables.migrations + [JobStore.requeueFailedMigration])
        let db = try Database(path: path)
        try former.migrate(db)
        db.close()
        var options = serverOptions(path)
        options.config.signup = true
        let server = try await TroupeServer.start(options)
        let reply = try await HTTPClient().send(HTTPClientRequest(
            method: "POST", port: server.port, target: "/v1/auth/signup", headers: ["Content-Type": "application/json"],
            body: Array(#"{"email":"ada@example.com","password":"correct horse battery","workspace_name":"A"}"#.utf8)))
        #expect(reply.status == 201, "the server's tables were added")
        await server.shutdown(grace: .seconds(1))
    }
}
