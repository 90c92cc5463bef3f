import Glibc
import Foundation
import TroupeActors
import TroupeCore
import TroupePersistence
import TroupeTransport
import TroupeSystem

/// A running Troupe server: the database and actors, the API, the HTTP listener, and the
/// background services (``BackgroundServices``). ``shutdown()`` drains it.
public final class TroupeServer: Sendable {
    /// Where and how to serve.
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var databasePath = "./troupe.db"
        public var config = ServerConfig()
        /// `TROUPE_SECRET`; nil uses the secret kept beside the database (made on first start).
        public var secret: [UInt8]?
        /// Where the per-request JSON log lines go; nil discards them.
        public var logHandle: FileHandle? = .standardError
        /// Changes waiting for the database writer at most; past it requests get 503 `overloaded`
        /// (tests set a small bound).
        public var writerQueueCapacity = GroupCommitWriter.Configuration().queueCapacity
        /// Where the lines of background work go (records set aside, failures); nil discards them.
        public var eventLog: (any LogSink)? = StandardErrorLogSink()
        /// The wall clock of tokens, invitations, limits and quotas; tests pass a ``ManualClock``.
        public var clock: any WallClock = SystemClock()

        public init() {}

        /// The configured `sandbox_root`, else `troupe-sandboxes` in the database's directory
        /// (absolute: a command's root is built over it).
        public var sandboxRoot: String {
            if let root = config.sandboxRoot { return root }
            let url = URL(fileURLWithPath: databasePath).standardizedFileURL
            return url.deletingLastPathComponent().appendingPathComponent("troupe-sandboxes").path
        }
    }

    public let port: Int
    public let host: String
    let app: TroupeApp
    private let server: HTTPServer
    private let serving: Task<Void, Never>
    private let services: ServiceSupervisor

    /// The control groups for sandboxes, named after the sandbox root (two servers on one host
    /// keep apart); where there are none, says why once: `memory_mb` is then divided among a
    /// sandbox's processes.
    static func sandboxCgroups(root: String, logger: Logger) -> SandboxCgroups? {
        switch SandboxCgroups.probe(tag: sandboxCgroupTag(root: root)) {
        case .success(let cgroups):
            return cgroups
        case .failure(let reason):
            logger.log(.warning, "sandbox.cgroups_unavailable", [("reason", .string(reason.description))])
            return nil
        }
    }

    /// The name of the server's group for sandboxes: `troupe-` and this, from the sandbox root.
    static func sandboxCgroupTag(root: String) -> String {
        SHA256.hash(Array(root.utf8)).prefix(6).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Opens the database (creating and migrating it), builds the API and starts listening.
    public static func start(_ options: Options) async throws -> TroupeServer {
        let app = try await openApp(options)
        do {
            return try TroupeServer(app: app, host: options.host, port: options.port, maxBodyBytes: options.config.maxBodyBytes)
        } catch {
            await app.runtime.close()
            throw error
        }
    }

    /// The API over the opened database, with no listener (what `troupe bootstrap` needs).
    /// Close it with `app.runtime.close()`.
    static func openApp(_ options: Options) async throws -> TroupeApp {
        var registry = ActorRegistry<TenantActor>.Configuration()
        registry.idleTTL = .seconds(Int64(options.config.idleActorTTLSeconds))
        let logger = Logger(sink: options.eventLog, clock: options.clock)
        // A sandbox's uid must not read the database: new files are the server's alone, and so
        // are an existing database's.
        umask(0o077)
        // Nothing is touched before the path is known to be a database's (a directory given by
        // mistake is refused, not chmodded), and no second server may own the file.
        try DatabaseFile.check(options.databasePath)
        let lock = try DatabaseLock(databasePath: options.databasePath)
        for suffix in ["", "-wal", "-shm"] { chmod(options.databasePath + suffix, 0o600) }
        let runtime = try await TroupeRuntime.open(
            path: options.databasePath, clock: options.clock, settings: options.config.runtimeSettings, durability: options.config.durability,
            registry: registry, logger: logger, writerQueueCapacity: options.writerQueueCapacity,
            sandboxes: SandboxEngine.Configuration(root: options.sandboxRoot, uidBase: options.config.sandboxUIDBase,
                                                   isolation: .probe(), execEnabled: options.config.sandboxExec,
                                                   requiresFullIsolation: !options.config.sandboxIsolationMinimal,
                                                   cgroups: options.config.sandboxExec ? sandboxCgroups(root: options.sandboxRoot, logger: logger) : nil,
                                                   diskLimits: options.config.sandboxDisk))
        do {
            let secret: [UInt8]
            if let given = options.secret {
                secret = given
            } else {
                secret = try await SecretFile.load(database: options.databasePath, accounts: AccountStore(store: runtime.store))
            }
            let horizon = runtime.clock.now + (.zero - Authenticator.sessionLifetime)
            let memberChanges = try await MemberStore(store: runtime.store).changes(since: horizon)
            let app = TroupeApp(config: options.config, runtime: runtime, secret: secret, memberChanges: memberChanges,
                                log: RequestLog(handle: options.logHandle), logger: logger, databaseLock: lock)
            try await app.webhooks.loadDirectory()  // before any change: commits ring the dispatcher for every webhook's workspace
            // What a previous server's sandboxes left running is killed; live ones are resident.
            try await app.sandboxes.recover()
            // Timers of waiting steps, sandbox steps' next attempts, and finished jobs whose runs
            // did not hear of them.
            try await runtime.runs.recover(jobs: app.jobs)
            return app
        } catch {
            await runtime.close()
            throw error
        }
    }

    private init(app: TroupeApp, host: String, port: Int, maxBodyBytes: Int) throws {
        self.app = app
        var configuration = HTTPServer.Configuration(host: host, port: port)
        configuration.limits.maxBodyBytes = maxBodyBytes
        // API.md: the connection cap follows the descriptor limit, raised to its hard limit.
        configuration.maxConnections = FileDescriptorLimit.connectionCap()
        let server = try HTTPServer(configuration: configuration, responder: APIResponder(app: app, router: app.makeRouter()))
        for failure in EventLoop.sharedGroupFailures {
            app.logger.log(.error, "event_loop.unavailable", [("error", .string(failure.description)),
                                                               ("serving_loops", .int(Int64(EventLoop.sharedGroup.count)))])
        }
        self.server = server
        self.port = server.port
        self.host = host
        app.connectionStatistics.withLock { $0 = { server.statistics } }
        serving = server.start()
        services = ServiceSupervisor(BackgroundServices.make(for: app), failures: app.runtime.failures)
        services.start()
    }

    /// `http://HOST:PORT`.
    public var url: String { "http://\(host):\(port)" }

    /// Graceful stop, in DESIGN.md's order: `/readyz` turns 503 and no new connections are
    /// taken; event streams end and in-flight requests finish (up to `grace`); the services
    /// stop; what requests kept in memory is committed; the database is closed.
    public func shutdown(grace: Duration = .seconds(10)) async {
        app.startDraining()
        // Commands under way end now (their execs answer), so that the drain need not wait; the
        // sandbox steps they ran are not failed for it (the next start goes on with them).
        app.runtime.runs.stopSandboxSteps()
        await app.sandboxes.stopCommands()
        await server.shutdown(grace: grace)
        await serving.value
        await app.sandboxes.stopCommands()
        await services.stop()
        do {
            try await app.authenticator.flushLastUsed()
            try await app.usage.flush()
            try app.log.flush()
        } catch {
            app.runtime.failures.record("final_flush", error)
        }
        app.passwords.close()
        await app.runtime.close()
        app.databaseLock?.release()
    }

}
