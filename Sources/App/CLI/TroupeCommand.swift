import Foundation
import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeSystem
import TroupeTransport

/// `troupe serve | bootstrap | backup | verify-audit`: API.md's command line. Returns the exit status.
public enum TroupeCommand {
    static let usage = """
        usage:
          troupe serve [--host 127.0.0.1] [--port 8080] [--db ./troupe.db] [--config FILE] [--dev]
          troupe bootstrap --db PATH --email E --password P --workspace NAME [--plan PLAN]
          troupe backup --db PATH --to PATH
          troupe verify-audit --db PATH [--workspace ID]
          troupe workspace set-plan --db PATH --workspace ID --plan PLAN
        """

    public static func main(_ arguments: [String]) async -> Int32 {
        guard var command = arguments.first else { return fail(usage) }
        var rest = Array(arguments.dropFirst())
        if command == "workspace", let verb = rest.first, !verb.hasPrefix("--") {
            command += " " + verb
            rest.removeFirst()
        }
        do {
            let flags = try CommandFlags(rest)
            switch command {
            case "serve": return try await serve(flags)
            case "bootstrap": return try await bootstrap(flags)
            case "backup": return try backup(flags)
            case "verify-audit": return try verifyAudit(flags)
            case "workspace set-plan": return try await setPlan(flags)
            case "-h", "--help", "help":
                print(usage)
                return 0
            default: return fail("unknown command \(command)\n\(usage)")
            }
        } catch let error as CommandFlags.Error {
            return fail("\(error.message)\n\(usage)")
        } catch let error as ServerConfig.Error {
            return fail(error.description)
        } catch let error as APIError {
            return fail(error.message)
        } catch let error as DatabaseFile.Refusal {
            return fail(error.message)
        } catch {
            return fail("\(error)")
        }
    }

    /// A line to stdout, written at once (print buffers when stdout is a pipe).
    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("troupe: \(message)\n".utf8))
        return 2
    }

    /// The server's options from flags, the config file and `TROUPE_SECRET`.
    static func options(_ flags: CommandFlags) throws -> TroupeServer.Options {
        var options = TroupeServer.Options()
        options.host = flags.value("host") ?? options.host
        if let port = flags.value("port") {
            guard let number = Int(port), (0...65_535).contains(number) else { throw CommandFlags.Error(message: "--port must be 0-65535") }
            options.port = number
        }
        options.databasePath = flags.value("db") ?? options.databasePath
        if let path = flags.value("config") {
            guard let data = FileManager.default.contents(atPath: path) else { throw CommandFlags.Error(message: "cannot read --config \(path)") }
            options.config = try ServerConfig.parse([UInt8](data))
        }
        if flags.has("dev") {
            options.config.signup = true
            options.config.sandboxExec = true
            options.config.webhookPrivateNetworks = true
        }
        if let secret = ProcessInfo.processInfo.environment["TROUPE_SECRET"] {
            // Read once, then gone from the environment and its bytes: nothing started later
            // inherits it, and /proc/<pid>/environ no longer shows it.
            ProcessHardening.forgetEnvironmentVariable("TROUPE_SECRET")
            guard secret.utf8.count >= 32 else { throw CommandFlags.Error(message: "TROUPE_SECRET must be at least 32 bytes") }
            options.secret = Array(secret.utf8)
        }
        return options
    }

    private static func serve(_ flags: CommandFlags) async throws -> Int32 {
        try flags.allow(["host", "port", "db", "config", "dev"])
        if let error = ProcessHardening.disableDumping() {
            throw CommandFlags.Error(message: "could not make the server undumpable (prctl: \(String(cString: strerror(error))))")
        }
        let options = try options(flags)
        // https webhooks go through the process's egress proxy, which sets `https_proxy`: done
        // now, before the server's threads, which may read the environment, are started.
        _ = EgressProxy.shared
        // Before anything can be told the server listens: a SIGTERM right after that line stops
        // it gracefully, not by the signal's default action.
        let stop = SignalWaiter(signals: [SIGTERM, SIGINT])
        let server = try await TroupeServer.start(options)
        if flags.has("dev"), let demo = try await server.app.provisionDevDemo() {
            say("dev: demo workspace \(demo.workspaceID); its owner API key (all scopes, shown once): \(demo.apiKey)")
        }
        say("troupe listening on \(server.url)")
        await stop.wait()
        await server.shutdown(grace: .seconds(10))
        return 0
    }

    private static func bootstrap(_ flags: CommandFlags) async throws -> Int32 {
        try flags.allow(["db", "email", "password", "workspace", "plan", "config"])
        var options = try options(flags)
        options.logHandle = nil
        guard let email = flags.value("email"), let password = flags.value("password"), let workspace = flags.value("workspace") else {
            throw CommandFlags.Error(message: "bootstrap needs --db, --email, --password and --workspace")
        }
        let planName = flags.value("plan") ?? "starter"
        guard let plan = Plan(rawValue: planName) else { throw CommandFlags.Error(message: "--plan must be starter, growth or enterprise") }
        let app = try await TroupeServer.openApp(options)
        do {
            let made = try await app.bootstrap(email: email, password: password, workspaceName: workspace, plan: plan)
            say(JSON.object(JSONObject([("user_id", .string(made.userID)), ("workspace_id", .string(made.workspaceID)),
                                        ("token", .string(made.token)), ("api_key", .string(made.apiKey))])).text)
        } catch {
            await app.runtime.close()
            throw error
        }
        await app.runtime.close()
        return 0
    }

    /// Sets a workspace's plan as the operator (any plan, self-service or not), on the stopped
    /// server's database (a running server holds it: its tenant keeps the plan in memory), with
    /// an audit entry whose actor is the server.
    private static func setPlan(_ flags: CommandFlags) async throws -> Int32 {
        try flags.allow(["db", "workspace", "plan", "config"])
        guard let workspaceID = flags.value("workspace"), let planName = flags.value("plan"), flags.value("db") != nil else {
            throw CommandFlags.Error(message: "workspace set-plan needs --db, --workspace and --plan")
        }
        guard let plan = Plan(rawValue: planName) else { throw CommandFlags.Error(message: "--plan must be starter, growth or enterprise") }
        var options = try options(flags)
        options.logHandle = nil
        guard FileManager.default.fileExists(atPath: options.databasePath) else {
            throw CommandFlags.Error(message: "no database at \(options.databasePath)")
        }
        let app = try await TroupeServer.openApp(options)
        defer { app.databaseLock?.release() }
        do {
            let origin = ChangeOrigin(principal: nil, requestID: nil, ip: nil, audit: AuditIntent(AuditDraft(
                workspaceID: workspaceID, actor: AuditActor(type: AuditActor.server, id: "troupe-cli"), event: "workspace.plan_changed",
                targetType: "workspace", targetID: workspaceID, note: "plan: \(plan.rawValue) (troupe workspace set-plan)", requestID: nil, ip: nil)))
            try await app.runtime.tenants.call(workspaceID) { try await $0.update(plan: plan, origin: origin) }
        } catch {
            await app.runtime.close()
            throw error
        }
        await app.runtime.close()
        say("workspace \(workspaceID) is on the \(plan.rawValue) plan")
        return 0
    }

    private static func backup(_ flags: CommandFlags) throws -> Int32 {
        try flags.allow(["db", "to"])
        guard let source = flags.value("db"), let destination = flags.value("to") else {
            throw CommandFlags.Error(message: "backup needs --db and --to")
        }
        guard FileManager.default.fileExists(atPath: source) else { throw CommandFlags.Error(message: "no database at \(source)") }
        try DatabaseFile.check(source)
        let db = try DatabaseFile.openForReading(source)
        defer { db.close() }
        try db.backup(to: destination)
        say("backed up \(source) to \(destination)")
        return 0
    }

    /// Checks every workspace's audit chain (or one's) on the file, without a server: one JSON
    /// line each; 0 when all are valid, 1 otherwise. Reads only; a running server may keep writing.
    private static func verifyAudit(_ flags: CommandFlags) throws -> Int32 {
        try flags.allow(["db", "workspace"])
        guard let path = flags.value("db") else { throw CommandFlags.Error(message: "verify-audit needs --db") }
        guard FileManager.default.fileExists(atPath: path) else { throw CommandFlags.Error(message: "no database at \(path)") }
        try DatabaseFile.check(path)
        let db = try DatabaseFile.openForReading(path)
        defer { db.close() }
        var allValid = true
        for workspaceID in try flags.value("workspace").map({ [$0] }) ?? AuditLog.workspaces(db) {
            let result = try AuditLog.verify(db, workspaceID: workspaceID)
            allValid = allValid && result.valid
            guard case .object(let fields) = result.json else { continue }
            let line = JSONObject([("workspace_id", .string(workspaceID))] + fields.members.map { ($0.key, $0.value) })
            say(JSON.object(line).text)
        }
        return allValid ? 0 : 1
    }
}
