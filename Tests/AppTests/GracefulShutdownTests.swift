import Foundation
import Testing
import TroupeApp
import TroupeCore
import TroupeTransport

/// Shutting down finishes the requests already in flight, commits them, and serves no more.
@Suite(.serialized, .timeLimit(.minutes(5))) struct GracefulShutdownTests {
    @Test func inFlightRequestFinishesAndIsCommitted() async throws {
        // A costly password hash keeps the signup in flight for a while.
        let first = try await TestServer.start { $0.passwordIterations = 20_000 }
        let port = first.server.port
        let started = ContinuousClock.now
        let signup = Task {
            let reply = try await first.send("POST", "/v1/auth/signup",
                                             json: #"{"email":"late@example.com","password":"correct horse battery","workspace_name":"Late"}"#)
            return (reply, ContinuousClock.now)
        }
        // Shut down once the signup's connection is accepted (a connection still in the listen
        // backlog is reset when the listener closes: under a loaded suite, 200 ms was not always
        // enough for the accept), seen from a second connection in /metrics.
        let accepted = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < accepted {
            let metrics = try await first.send("GET", "/metrics").text
            let open = metrics.split(separator: "\n").first { $0.hasPrefix("troupe_open_connections ") }
            if let open, let count = Int(open.split(separator: " ").last ?? ""), count >= 2 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(50))
        let shutdownStarted = ContinuousClock.now
        let shutdown = Task { await first.server.shutdown(grace: .seconds(30)) }
        let (reply, answered) = try await signup.value
        await shutdown.value
        #expect(answered > shutdownStarted, "the signup was still in flight when shutdown began (took \(answered - started))")
        #expect(reply.status == 201, "\(reply.text)")

        // No new connection is served once the server has shut down.
        await #expect(throws: (any Error).self) {
            try await HTTPClient().send(HTTPClientRequest(method: "GET", port: port, target: "/healthz"))
        }

        // The acknowledged signup was committed: the account signs in after a restart.
        let second = try await first.restart()
        let login = try await second.send("POST", "/v1/auth/login", json: #"{"email":"late@example.com","password":"correct horse battery"}"#)
        #expect(login.status == 200)
        await second.stop()
    }
}
