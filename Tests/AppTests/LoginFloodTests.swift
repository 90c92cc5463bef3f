import Testing
import TroupeCore

/// Logins under attack: the per-email throttle, the bounded hashing queue, and a password
/// stored under another iteration count.
@Suite(.serialized, .timeLimit(.minutes(5))) struct LoginFloodTests {
    private func logIn(_ server: TestServer, _ email: String, _ password: String) async throws -> Reply {
        try await server.send("POST", "/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
    }

    /// API.md: after 10 failed logins for one email within 15 minutes, further logins for it
    /// are 429 with Retry-After until the window has passed — known email or not, right
    /// password or not; other emails are untouched.
    @Test func tenFailedLoginsThrottleThatEmailForFifteenMinutes() async throws {
        let clock = ManualClock()
        let server = try await TestServer.start(clock: clock)
        let ada = try await server.signUp()
        let bob = try await server.signUp()
        for unknown in [false, true] {
            let email = unknown ? "nobody-\(RandomID.make(prefix: "x"))@example.com" : ada.email
            for _ in 0..<10 {
                #expect(try await logIn(server, email, "wrong password!").status == 401)
                clock.advance(by: .seconds(10))
            }
            let throttled = try await logIn(server, email.uppercased(), "correct horse battery")
            #expect(throttled.status == 429, "\(email)")
            #expect(throttled.errorCode == "rate_limited")
            let wait = try #require(throttled.headers["Retry-After"].flatMap { Int($0) })
            #expect(wait > 700 && wait <= 900, "until the first failure leaves the window: \(wait)")
        }
        #expect(try await logIn(server, bob.email, "correct horse battery").status == 200, "another email is not throttled")
        clock.advance(by: .seconds(15 * 60))
        #expect(try await logIn(server, ada.email, "correct horse battery").status == 200, "the window passed")
        await server.stop()
    }

    /// Hashes run on one thread per core behind a bounded queue: a burst of logins past it is
    /// 503 `overloaded` with Retry-After, never a 500, and the server answers other requests.
    @Test func aLoginFloodPastTheHashingQueueIs503() async throws {
        let server = try await TestServer.start { $0.passwordIterations = 20_000 }
        let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
            for index in 0..<64 {
                group.addTask { try await logIn(server, "flood-\(index)@example.com", "wrong password!") }
            }
            group.addTask { try await server.send("GET", "/healthz") }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(replies.map(\.status)).isSubset(of: [200, 401, 503]), "\(replies.map(\.status))")
        let overloaded = replies.filter { $0.status == 503 }
        #expect(!overloaded.isEmpty, "64 hashes at once exceed the queue")
        #expect(overloaded.allSatisfy { $0.errorCode == "overloaded" && $0.headers["Retry-After"] == "1" })
        #expect(replies.contains { $0.status == 200 }, "healthz answered during the flood")
        await server.stop()
    }

    /// A password stored under another iteration count is rehashed at its next login.
    @Test func aLoginRehashesAPasswordStoredUnderAnotherCount() async throws {
        let first = try await TestServer.start { $0.passwordIterations = 1000 }
        let ada = try await first.signUp()
        await first.stopKeepingDatabase()
        let server = try await TestServer.start(reusing: first) { $0.passwordIterations = 2000 }
        #expect(try await logIn(server, ada.email, "correct horse battery").status == 200)
        #expect(try server.storedIterations(email: ada.email) == 2000)
        #expect(try await logIn(server, ada.email, "correct horse battery").status == 200, "the new hash checks")
        await server.stop()
    }
}
