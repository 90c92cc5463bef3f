import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct RateLimitTests {
    /// 100 requests from 64 concurrent clients against a quota of 60: exactly 60 pass. The
    /// daily quota is used because it does not refill while a slow machine runs the test (the
    /// per-minute limiter's exactness is tested with a manual clock in the actor tests).
    @Test func exactlyTheLimitIsAdmittedUnderConcurrency() async throws {
        let server = try await TestServer.start { config in
            config.plans[.starter]?.requestsPerMinute = nil
            config.plans[.starter]?.requestsPerDay = 60
        }
        let account = try await server.signUp()
        let key = try await server.createKey(account)
        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            for client in 0..<64 {
                group.addTask {
                    var statuses: [Int] = []
                    for _ in 0..<(client < 36 ? 2 : 1) { statuses.append(try await server.send("GET", "/v1/usage", token: key.raw).status) }
                    return statuses
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(statuses.count == 100)
        // The key creation spent one request of the workspace's 60.
        #expect(statuses.filter { $0 == 200 }.count == 59)
        #expect(statuses.filter { $0 == 429 }.count == 41)
        let refused = try await server.send("GET", "/v1/usage", token: key.raw)
        #expect(refused.status == 429)
        #expect(refused.errorCode == "rate_limited")
        #expect(Int(refused.headers["Retry-After"] ?? "") ?? 0 >= 1)
        #expect(refused.headers["X-RateLimit-Remaining"] == "0")
        // Unauthenticated routes are not counted.
        #expect(try await server.send("GET", "/v1/plans").status == 200)
        await server.stop()
    }

    @Test func eachKeyHasItsOwnLimit() async throws {
        let server = try await TestServer.start { config in
            config.apiKeyRequestsPerMinute = 3
            config.plans[.starter]?.requestsPerMinute = 1000
        }
        let account = try await server.signUp()
        let first = try await server.createKey(account)
        let second = try await server.createKey(account)
        for _ in 0..<3 { #expect(try await server.send("GET", "/v1/usage", token: first.raw).status == 200) }
        #expect(try await server.send("GET", "/v1/usage", token: first.raw).status == 429)
        #expect(try await server.send("GET", "/v1/usage", token: second.raw).status == 200)
        #expect(try await server.send("GET", "/v1/auth/me", token: account.token).status == 200)
        await server.stop()
    }

    @Test func usageCountsAdmittedRequests() async throws {
        let server = try await TestServer.start()
        let account = try await server.signUp()
        for _ in 0..<4 { _ = try await server.send("GET", "/v1/auth/me", token: account.token) }
        let usage = try await server.send("GET", "/v1/usage", token: account.token)
        #expect(usage.json["requests"] == 5)
        #expect(try await server.send("GET", "/v1/usage?from=tomorrow", token: account.token).status == 400)
        // The attack: a century-wide usage range scanning every run. At most 366 days (422).
        let century = try await server.send("GET", "/v1/usage?from=1970-01-01&to=2070-01-01", token: account.token)
        #expect(century.status == 422)
        #expect(century.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == "to")
        #expect(try await server.send("GET", "/v1/usage?from=2025-01-01&to=2025-12-31", token: account.token).status == 200, "a year is fine")
        #expect(try await server.send("GET", "/v1/usage?from=2024-01-01&to=2024-12-31", token: account.token).status == 200, "and a leap year")
        #expect(try await server.send("GET", "/v1/usage?from=2024-01-01&to=2025-01-01", token: account.token).status == 422)
        await server.stop()
    }
}
