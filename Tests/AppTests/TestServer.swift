import Foundation
import TroupeApp
import TroupeCore
import TroupePersistence
import TroupeTransport

/// The real server on port 0 over a temporary database, and a client that speaks JSON to it.
final class TestServer: Sendable {
    let server: TroupeServer
    let directory: String
    private let client = HTTPClient()

    private let options: TroupeServer.Options

    /// Starts on a new temporary database; `clock` (default: the system's) drives tokens,
    /// invitations and limits.
    /// `eventLog` receives the lines of background work (nil: discarded); `writerQueueCapacity`
    /// bounds the writer's queue (nil: the server's default).
    static func start(
        clock: any WallClock = SystemClock(), eventLog: (any LogSink)? = nil, writerQueueCapacity: Int? = nil,
        configure: (inout ServerConfig) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = NSTemporaryDirectory() + "troupe-app-tests-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var options = TroupeServer.Options()
        options.port = 0
        options.databasePath = directory + "/troupe.db"
        options.logHandle = nil
        options.eventLog = eventLog
        options.clock = clock
        options.config.signup = true
        options.config.passwordIterations = 1000
        // Tests sign up many users from 127.0.0.1; the per-address limits have tests of their own.
        options.config.disableLoginAddressLimits()
        // Sandboxes of a server of its own: its directory, and (as root) a uid range no other
        // test server shares, since a sandbox's end kills every process of its uid.
        options.config.sandboxRoot = directory + "/sandboxes"
        options.config.sandboxUIDBase = 1_000_000 + UInt32.random(in: 0..<60_000) * 65_536
        configure(&options.config)
        if let writerQueueCapacity { options.writerQueueCapacity = writerQueueCapacity }
        return TestServer(server: try await TroupeServer.start(options), directory: directory, options: options)
    }

    /// The temporary database's file.
    var databasePath: String { options.databasePath }

    /// Stops the server, keeping its database, so that a test can change the file while it is
    /// down; ``startAgain()`` serves it again.
    func stopKeepingDatabase() async {
        await server.shutdown(grace: .seconds(1))
    }

    /// A new server, configured anew, on the database `stopped` left (after its
    /// ``stopKeepingDatabase()``).
    static func start(reusing stopped: TestServer, configure: (inout ServerConfig) -> Void) async throws -> TestServer {
        var options = stopped.options
        configure(&options.config)
        return TestServer(server: try await TroupeServer.start(options), directory: stopped.directory, options: options)
    }

    /// The PBKDF2 iteration count stored for `email`, read from the database file.
    func storedIterations(email: String) throws -> Int64? {
        let db = try Database(path: options.databasePath, options: DatabaseOptions(readOnly: true))
        defer { db.close() }
        return try db.scalar("SELECT password_iterations FROM users WHERE email = ?", [.text(email.lowercased())])?.integerValue
    }

    /// Starts a new server on the same database (after ``stopKeepingDatabase()``).
    func startAgain() async throws -> TestServer {
        TestServer(server: try await TroupeServer.start(options), directory: directory, options: options)
    }

    private init(server: TroupeServer, directory: String, options: TroupeServer.Options) {
        self.server = server
        self.directory = directory
        self.options = options
    }

    func stop() async {
        await server.shutdown(grace: .seconds(1))
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Shuts the server down (draining, committing) and starts it again on the same database.
    func restart() async throws -> TestServer {
        await server.shutdown(grace: .seconds(1))
        return TestServer(server: try await TroupeServer.start(options), directory: directory, options: options)
    }

    /// Sends a request; `token` goes in `Authorization: Bearer`.
    func send(_ method: String, _ target: String, token: String? = nil, json: String? = nil,
              headers: HTTPHeaders = [:]) async throws -> Reply {
        var headers = headers
        if let token { headers.set("Authorization", "Bearer \(token)") }
        if json != nil, !headers.contains("Content-Type") { headers.set("Content-Type", "application/json") }
        let response = try await client.send(HTTPClientRequest(method: method, port: server.port, target: target, headers: headers,
                                                               body: Array((json ?? "").utf8)))
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    /// Signs up a new person with a fresh workspace; returns the token and ids.
    func signUp(_ email: String = "ada-\(RandomID.make(prefix: "u"))@example.com") async throws -> Account {
        let reply = try await send("POST", "/v1/auth/signup",
                                   json: #"{"email":"\#(email)","password":"correct horse battery","workspace_name":"Acme"}"#)
        guard reply.status == 201, let token = reply.json["token"]?.stringValue,
            let workspace = reply.json["workspace"]?["id"]?.stringValue, let user = reply.json["user"]?["id"]?.stringValue
        else { throw TestFailure("signup failed: \(reply.status) \(reply.text)") }
        return Account(token: token, workspaceID: workspace, userID: user, email: email)
    }

    /// Signs `account` in again (its first workspace): a fresh session token.
    func logIn(_ account: Account) async throws -> Account {
        let reply = try await send("POST", "/v1/auth/login", json: #"{"email":"\#(account.email)","password":"correct horse battery"}"#)
        guard reply.status == 200, let token = reply.json["token"]?.stringValue else {
            throw TestFailure("login failed: \(reply.status) \(reply.text)")
        }
        return Account(token: token, workspaceID: account.workspaceID, userID: account.userID, email: account.email)
    }

    /// `owner` invites `invitee` as `role`; the invitee accepts and switches. Returns the
    /// invitee's token for `owner`'s workspace.
    func join(_ invitee: Account, to owner: Account, as role: String) async throws -> String {
        let invited = try await send("POST", "/v1/workspaces/\(owner.workspaceID)/members", token: owner.token,
                                     json: #"{"email":"\#(invitee.email)","role":"\#(role)"}"#)
        guard let inviteToken = invited.json["invite_token"]?.stringValue else { throw TestFailure("invite: \(invited.status) \(invited.text)") }
        let accepted = try await send("POST", "/v1/invitations/accept", token: invitee.token, json: #"{"invite_token":"\#(inviteToken)"}"#)
        guard accepted.status == 200 else { throw TestFailure("accept: \(accepted.status) \(accepted.text)") }
        return try await switchTo(owner, as: invitee)
    }

    /// A fresh token for `account` in `owner`'s workspace (it must be a member).
    func switchTo(_ owner: Account, as account: Account) async throws -> String {
        let switched = try await send("POST", "/v1/workspaces/\(owner.workspaceID)/switch", token: account.token)
        guard let token = switched.json["token"]?.stringValue else { throw TestFailure("switch: \(switched.status) \(switched.text)") }
        return token
    }

    /// Creates an API key with `scopes` for `account`'s workspace; returns the raw key and its id.
    func createKey(_ account: Account, scopes: [String] = ["runs:read", "usage:read"]) async throws -> (raw: String, id: String) {
        let list = scopes.map { "\"\($0)\"" }.joined(separator: ",")
        let reply = try await send("POST", "/v1/api-keys", token: account.token, json: #"{"name":"test","scopes":[\#(list)]}"#)
        guard reply.status == 201, let raw = reply.json["raw_key"]?.stringValue, let id = reply.json["api_key"]?["id"]?.stringValue
        else { throw TestFailure("key creation failed: \(reply.status) \(reply.text)") }
        return (raw, id)
    }
}

struct Account: Sendable {
    let token: String
    let workspaceID: String
    let userID: String
    let email: String
}

struct Reply: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSON { (try? JSON.parse(body)) ?? .null }
    var errorCode: String? { json["error"]?["code"]?.stringValue }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
