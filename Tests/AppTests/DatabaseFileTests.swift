import Foundation
import Glibc
import Testing
import TroupeCore
import TroupePersistence
import TroupeTestSupport
import TroupeTransport

/// The database on disk, on the real binary: a directory given as `--db` is refused untouched,
/// a second server on one file is refused naming the first, the generated secret lives beside
/// the database (never in it, nor in a backup), and the read-only commands write nothing.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct DatabaseFileTests {
    private let directory = NSTemporaryDirectory() + "troupe-dbfile-" + RandomID.make(prefix: "t")

    private func prepare() throws -> (db: String, config: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/config.json"
        try Data(#"{"signup": true, "password_iterations": 1000}"#.utf8).write(to: URL(fileURLWithPath: config))
        return (directory + "/troupe.db", config)
    }

    /// Runs `troupe arguments` to its end; its status, stdout and stderr.
    private func run(_ arguments: [String], launch: TroupeProcess.Launch = TroupeProcess.Launch()) async throws -> (Int32, String, String) {
        let errors = Pipe()
        let (process, out) = try TroupeProcess.launch(arguments, stderr: errors, launch: launch)
        let status = await TroupeProcess.waitForExit(process)
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (status, said, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// `troupe serve` on `db` with one signed-up owner: the process, its port and the signup's answer.
    private func serveWithOwner(db: String, config: String) async throws -> (Process, Int, JSON) {
        let (server, port) = try await TroupeProcess.serve(db: db, config: config)
        let (_, account) = try await TroupeProcess.send(port, "POST", "/v1/auth/signup", token: nil,
                                                         json: #"{"email":"ops@example.com","password":"correct horse battery","workspace_name":"Ops"}"#)
        return (server, port, account)
    }

    private func mode(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
    }

    @Test func aDirectoryGivenAsTheDatabaseIsRefusedBeforeAnythingTouchesIt() async throws {
        _ = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shared = directory + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        chmod(shared, 0o1777)
        let (status, _, errors) = try await run(["serve", "--port", "0", "--db", shared])
        #expect(status == 2)
        #expect(errors.contains("is a directory"), "\(errors)")
        #expect(mode(shared) == 0o1777, "the directory's mode is untouched")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shared).isEmpty, "nothing was made in it")
    }

    @Test func aSecondServerOnTheSameDatabaseExitsNamingTheFirst() async throws {
        let (db, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, _) = try await TroupeProcess.serve(db: db, config: config)
        let (status, _, errors) = try await run(["serve", "--port", "0", "--db", db, "--config", config])
        #expect(status == 2)
        #expect(errors.contains("pid \(first.processIdentifier)"), "\(errors)")
        let (bootstrap, _, bootstrapErrors) = try await run(["bootstrap", "--db", db, "--config", config, "--email", "a@example.com",
                                                             "--password", "correct horse battery", "--workspace", "W"])
        #expect(bootstrap == 2, "bootstrap writes too: \(bootstrapErrors)")
        first.terminate()
        #expect(await TroupeProcess.waitForExit(first) == 0)
        let (again, _) = try await TroupeProcess.serve(db: db, config: config)
        again.terminate()
        #expect(await TroupeProcess.waitForExit(again) == 0, "the lock goes with its server")
    }

    @Test func theGeneratedSecretLivesBesideTheDatabaseAndABackupForgesNothing() async throws {
        let (db, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (server, _, account) = try await serveWithOwner(db: db, config: config)
        let token = try #require(account["token"]?.stringValue)
        server.terminate()
        #expect(await TroupeProcess.waitForExit(server) == 0)

        let secretPath = db + ".secret"
        let secret = try #require(FileManager.default.contents(atPath: secretPath))
        #expect(secret.count == 32)
        #expect(mode(secretPath) == 0o600)
        let backup = directory + "/copy.db"
        let (status, _, errors) = try await run(["backup", "--db", db, "--to", backup])
        #expect(status == 0, "\(errors)")
        #expect(mode(backup) == 0o600, "a backup is its owner's alone")
        let copy = try #require(FileManager.default.contents(atPath: backup))
        #expect(copy.range(of: secret) == nil, "the secret is not in the backup")
        #expect(FileManager.default.contents(atPath: db).map { $0.range(of: secret) == nil } == true, "nor in the database")

        // An earlier server kept its secret in the database: the next start moves it out, and
        // tokens it signed still hold.
        let old = try Database(path: db)
        try old.execute("INSERT INTO server_settings (name, value) VALUES ('jwt_secret', ?)", [.blob([UInt8](secret))])
        old.close()
        try FileManager.default.removeItem(atPath: secretPath)
        let (moved, again) = try await TroupeProcess.serve(db: db, config: config)
        let (me, _) = try await TroupeProcess.send(again, "GET", "/v1/auth/me", token: token)
        #expect(me == 200, "a token of the moved secret still holds")
        moved.terminate()
        #expect(await TroupeProcess.waitForExit(moved) == 0)
        #expect(FileManager.default.contents(atPath: secretPath) == secret)
        let after = try Database(path: db)
        #expect(try after.scalar("SELECT count(*) FROM server_settings WHERE name = 'jwt_secret'")?.integerValue == 0)
        after.close()
        #expect(FileManager.default.contents(atPath: db).map { $0.range(of: secret) == nil } == true, "its bytes are gone from the file too")
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.isRoot && Prerequisite.tool("/usr/bin/setpriv"))))
    func verifyAuditAndBackupReadOnlyMediaAndLeaveNoFiles() async throws {
        let (db, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (server, _, _) = try await serveWithOwner(db: db, config: config)
        server.terminate()
        #expect(await TroupeProcess.waitForExit(server) == 0)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        // As nobody, who may read the file but write nothing in its directory: read-only media.
        chown(db, 65_534, 65_534)
        chmod(directory, 0o755)
        let target = NSTemporaryDirectory() + "troupe-copy-" + RandomID.make(prefix: "c") + ".db"
        defer { unlink(target) }
        let nobody = TroupeProcess.Launch(user: 65_534)
        let (verified, lines, verifyErrors) = try await run(["verify-audit", "--db", db], launch: nobody)
        #expect(verified == 0, "\(verifyErrors)")
        #expect(lines.contains(#""valid":true"#))
        let (copied, _, copyErrors) = try await run(["backup", "--db", db, "--to", target], launch: nobody)
        #expect(copied == 0, "\(copyErrors)")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix("-wal") || $0.hasSuffix("-shm") }
        #expect(left.isEmpty, "\(left)")
    }

    /// The operator sets a plan no person may choose, on the stopped server's database; the
    /// change is on the workspace's audit record, its actor the server.
    @Test func theOperatorSetsAPlanWithTheCommandLine() async throws {
        let (db, config) = try prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (server, _, account) = try await serveWithOwner(db: db, config: config)
        let token = try #require(account["token"]?.stringValue)
        let workspace = try #require(account["workspace"]?["id"]?.stringValue)
        let (busy, _, busyErrors) = try await run(["workspace", "set-plan", "--db", db, "--workspace", workspace, "--plan", "enterprise"])
        #expect(busy == 2 && busyErrors.contains("pid \(server.processIdentifier)"), "not beside a running server: \(busyErrors)")
        server.terminate()
        #expect(await TroupeProcess.waitForExit(server) == 0)
        let (status, said, errors) = try await run(["workspace", "set-plan", "--db", db, "--workspace", workspace, "--plan", "enterprise"])
        #expect(status == 0, "\(errors)")
        #expect(said.contains("enterprise"))
        let (unknown, _, _) = try await run(["workspace", "set-plan", "--db", db, "--workspace", "ws_nope", "--plan", "growth"])
        #expect(unknown != 0)
        let (again, port2) = try await TroupeProcess.serve(db: db, config: config)
        #expect(try await TroupeProcess.send(port2, "GET", "/v1/workspaces/\(workspace)", token: token).1["plan"] == "enterprise")
        let entries = try await TroupeProcess.send(port2, "GET", "/v1/audit/logs?event=workspace.plan_changed", token: token).1["data"]
        #expect(entries?.arrayValue?.first?["actor"]?["type"] == "server")
        again.terminate()
        _ = await TroupeProcess.waitForExit(again)
    }
}
