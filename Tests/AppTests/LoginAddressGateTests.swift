import Testing
import TroupeCore

@testable import TroupeApp

/// The attack: a flood of logins and signups with random emails from one place, which would
/// fill the password hasher's queue for everyone. Refused per address and per network before
/// any hashing, and each address holds only its share of the hasher.
@Suite(.timeLimit(.minutes(5)))
struct LoginAddressGateTests {
    private let t0 = Timestamp(millisecondsSinceEpoch: 1_779_181_200_000)

    @Test func aRandomEmailFloodFromOneAddressIsRefusedWhileItsNeighboursGoOn() throws {
        let gate = LoginAddressGate(limits: .init(perAddressPerMinute: 3, perNetworkPerMinute: 5))
        for _ in 0..<3 { gate.release(try gate.admit("203.0.113.7", at: t0)) }
        #expect(throws: APIError.self) { try gate.admit("203.0.113.7", at: t0) }
        do {
            _ = try gate.admit("203.0.113.7", at: t0)
        } catch {
            #expect(error.code == .rateLimited && error.retryAfterSeconds == 20, "a minute's budget of 3 refills one every 20 s")
        }
        // The same /24 has two left; then it is spent for every address in it, not for others.
        for _ in 0..<2 { gate.release(try gate.admit("203.0.113.8", at: t0)) }
        #expect(throws: APIError.self) { try gate.admit("203.0.113.9", at: t0) }
        gate.release(try gate.admit("198.51.100.1", at: t0))
        // A minute later the budget is back.
        gate.release(try gate.admit("203.0.113.7", at: t0 + .seconds(60)))
    }

    @Test func anIPv6NetworkIsItsSlash48() throws {
        #expect(LoginAddressGate.network(of: "2001:db8:1234:5678::1") == LoginAddressGate.network(of: "2001:db8:1234:ffff::2"))
        #expect(LoginAddressGate.network(of: "2001:db8:1234::1") != LoginAddressGate.network(of: "2001:db8:1235::1"))
        #expect(LoginAddressGate.network(of: "10.1.2.3") == "10.1.2.0/24")
        let gate = LoginAddressGate(limits: .init(perAddressPerMinute: 100, perNetworkPerMinute: 2))
        for host in 1...2 { gate.release(try gate.admit("2001:db8:1234::\(host)", at: t0)) }
        #expect(throws: APIError.self) { try gate.admit("2001:db8:1234:9::1", at: t0) }
    }

    @Test func oneAddressHoldsAtMostItsShareOfTheHasher() throws {
        let gate = LoginAddressGate(limits: .init(perAddressPerMinute: 1_000, perNetworkPerMinute: 1_000))
        let held = try (0..<LoginAddressGate.maxInFlight).map { _ in try gate.admit("192.0.2.1", at: t0) }
        do {
            _ = try gate.admit("192.0.2.1", at: t0)
            Issue.record("a fifth hash in flight was let in")
        } catch {
            #expect(error.code == .overloaded)
        }
        gate.release(try gate.admit("192.0.2.2", at: t0))
        gate.release(held[0])
        gate.release(try gate.admit("192.0.2.1", at: t0))
    }

    @Test func offMeansOffAndTheAddressesTrackedAreBounded() throws {
        #expect(try LoginAddressGate(limits: nil).admit("192.0.2.1", at: t0) == nil)
        let gate = LoginAddressGate(limits: .init(perAddressPerMinute: 1, perNetworkPerMinute: 1_000_000))
        for index in 0..<(LoginAddressGate.maxTracked / 2 + 10) {
            let address = "10.\(index / 65_536 % 256).\(index / 256 % 256).\(index % 256)"
            gate.release(try gate.admit(address, at: t0))
        }
        #expect(gate.trackedCount <= LoginAddressGate.maxTracked)
    }
}

/// The same over HTTP: logins past the address's budget are 429 before any hashing.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct LoginAddressLimitTests {
    @Test func loginsAndSignupsPastTheAddresssBudgetAre429() async throws {
        let server = try await TestServer.start { $0.loginAddressLimits = .init(perAddressPerMinute: 4, perNetworkPerMinute: 100) }
        let ada = try await server.signUp()  // 1
        var statuses: [Int] = []
        for index in 0..<4 {
            let reply = try await server.send("POST", "/v1/auth/login", json: #"{"email":"spray-\#(index)@example.com","password":"wrong password"}"#)
            statuses.append(reply.status)
            if reply.status == 429 { #expect(reply.headers["Retry-After"] != nil) }
        }
        #expect(statuses == [401, 401, 401, 429])
        let signup = try await server.send("POST", "/v1/auth/signup",
                                           json: #"{"email":"late@example.com","password":"correct horse battery","workspace_name":"L"}"#)
        #expect(signup.status == 429)
        #expect(try await server.send("GET", "/v1/auth/me", token: ada.token).status == 200, "signed-in work goes on")
        await server.stop()
    }
}
