import Foundation
import Testing
import TroupeCore
import TroupePersistence
import TroupeTransport

@testable import TroupeApp

/// The dispatcher against a real receiver on loopback: signed deliveries, retries after a
/// failure with every attempt recorded, and the private-network guard on names and literals.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WebhookDeliveryTests {
    /// Answers each POST with the next status of `statuses` (then 200) and keeps what came.
    final class Receiver: HTTPResponder, @unchecked Sendable {
        // @unchecked: `state` is only touched under its lock.
        private let state = LockedBox<(statuses: [Int], received: [HTTPRequest])>(([], []))

        init(statuses: [Int] = []) { state.withLock { $0.statuses = statuses } }

        var received: [HTTPRequest] { state.value.received }

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            let status = state.withLock { state -> Int in
                state.received.append(request)
                return state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
            }
            return HTTPResponse(status: status)
        }
    }

    private func start(_ receiver: Receiver) throws -> (HTTPServer, Task<Void, Never>) {
        let server = try HTTPServer(configuration: .init(port: 0), responder: receiver)
        return (server, server.start())
    }

    private func deliveries(_ server: TestServer, _ token: String, _ id: String) async throws -> [JSON] {
        try await server.send("GET", "/v1/webhooks/\(id)/deliveries?limit=200", token: token).json["data"]?.arrayValue ?? []
    }

    private func waitFor(_ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("timed out")
    }

    @Test func deliveriesAreSignedRetriedAfterAFailureAndRecorded() async throws {
        let receiver = Receiver(statuses: [500])
        let (listener, serving) = try start(receiver)
        let server = try await TestServer.start { $0.webhookPrivateNetworks = true }
        let ada = try await server.signUp()
        let hook = try await server.send("POST", "/v1/webhooks", token: ada.token,
                                         json: #"{"url":"http://localhost:\#(listener.port)/hooks?x=1","events":["run.cancelled"],"secret":"a shared secret of ours"}"#)
        let hookID = hook.json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let run = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/runs/\(run)/cancel", token: ada.token).status == 200)
        try await waitFor { try await deliveries(server, ada.token, hookID).first?["status"] == "succeeded" }

        let delivery = try await deliveries(server, ada.token, hookID).first ?? .null
        let attempts = delivery["attempts"]?.arrayValue ?? []
        #expect(attempts.map { $0["status_code"] } == [500, 200], "the 500 was retried")
        #expect(attempts.first?["error"] == "bad_status" && attempts.first?["status_code"] == 500 && attempts.last?["error"] == .null)
        #expect(delivery["next_attempt_at"]?.isNull == true)
        let requests = receiver.received
        #expect(requests.count == 2)
        let last = try #require(requests.last)
        #expect(last.path == "/hooks" && last.query == "x=1" && last.method == "POST")
        let event = try JSON.parse(last.body)
        #expect(event["type"] == "run.cancelled" && event["run_id"] == .string(run) && event["id"] == delivery["event_id"])
        #expect(requests.first?.body == last.body, "a retry carries the same event id")
        // Troupe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
        let signature = last.headers["Troupe-Signature"] ?? ""
        let fields = Dictionary(signature.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
            .filter { $0.count == 2 }.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
        let stamp = fields["t"] ?? ""
        let expected = Hex.encode(HMACSHA256(key: Array("a shared secret of ours".utf8)).authenticationCode(for: Array((stamp + ".").utf8) + last.body))
        #expect(fields["v1"] == expected)
        #expect(abs((Int64(stamp) ?? 0) - SystemClock().now.secondsSinceEpoch) < 60)
        #expect(last.headers["Host"] == "localhost:\(listener.port)")
        await server.stop()
        await listener.shutdown(grace: .seconds(1))
        await serving.value
    }

    @Test func privateAddressesAreNeverConnectedToUnlessAllowed() async throws {
        let receiver = Receiver()
        let (listener, serving) = try start(receiver)
        let server = try await TestServer.start()  // webhook_private_networks: false
        let ada = try await server.signUp()
        var hooks: [String] = []
        for url in ["http://localhost:\(listener.port)/a", "http://127.0.0.1:\(listener.port)/b", "http://[::1]:\(listener.port)/c",
                    "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/d", "http://[::ffff:127.0.0.1]:\(listener.port)/e"] {
            let reply = try await server.send("POST", "/v1/webhooks", token: ada.token, json: #"{"url":"\#(url)","events":["run.created"]}"#)
            #expect(reply.status == 201, "\(url): \(reply.text)")
            hooks.append(reply.json["id"]?.stringValue ?? "")
        }
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        #expect(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).status == 201)
        for hook in hooks {
            try await waitFor { try await deliveries(server, ada.token, hook).first?["status"] == "failed" }
            let attempts = try await deliveries(server, ada.token, hook).first?["attempts"]?.arrayValue ?? []
            #expect(attempts.count == 1 && attempts.first?["error"] == "blocked_address", "\(hook): \(attempts)")
        }
        #expect(receiver.received.isEmpty, "nothing reached the loopback receiver")
        await server.stop()
        await listener.shutdown(grace: .seconds(1))
        await serving.value
    }

    @Test func theAddressGuardBlocksEverySpecialPurposeRangeAndTheIPv4InsideIPv6Forms() {
        let blocked: [AddressGuard.Address] = [
            .v4(127, 0, 0, 1), .v4(10, 1, 2, 3), .v4(172, 16, 0, 1), .v4(172, 31, 255, 255), .v4(192, 168, 1, 1), .v4(169, 254, 169, 254),
            .v4(224, 0, 0, 1), .v4(0, 0, 0, 0), .v6(Array(repeating: 0, count: 15) + [1]), .v6(Array(repeating: 0, count: 16)),
            .v6([0xFE, 0x80] + Array(repeating: 0, count: 14)), .v6([0xFD, 0x12] + Array(repeating: 0, count: 14)),
            .v6([0xFF, 0x02] + Array(repeating: 0, count: 14)), .v6(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 10, 0, 0, 1]),
            // The special-purpose ranges: shared (an Alibaba Cloud metadata address is 100.100.100.200),
            // benchmarking, IETF assignments, reserved, and the IPv4 inside NAT64, 6to4 and Teredo.
            .v4(100, 100, 100, 200), .v4(100, 64, 0, 1), .v4(198, 18, 0, 1), .v4(198, 19, 255, 255), .v4(192, 0, 0, 170),
            .v4(240, 0, 0, 1), .v4(255, 255, 255, 255), .v4(192, 0, 2, 1),
            .v6([0xFE, 0xC0] + Array(repeating: 0, count: 14)),
            .v6([0x00, 0x64, 0xFF, 0x9B] + Array(repeating: 0, count: 8) + [127, 0, 0, 1]),
            .v6([0x00, 0x64, 0xFF, 0x9B] + Array(repeating: 0, count: 8) + [169, 254, 169, 254]),
            .v6([0x20, 0x02, 10, 0, 0, 1] + Array(repeating: 0, count: 10)),
            .v6([0x20, 0x01, 0x00, 0x00, 8, 8, 8, 8] + Array(repeating: 0, count: 4) + [~127, ~0, ~0, ~1]),
        ]
        for address in blocked { #expect(AddressGuard.isBlocked(address), "\(address)") }
        let open: [AddressGuard.Address] = [.v4(93, 184, 216, 34), .v4(172, 32, 0, 1), .v4(8, 8, 8, 8),
                                            .v6([0x26, 0x06, 0x28, 0x00] + Array(repeating: 0, count: 12)),
                                            .v6(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 8, 8, 8, 8]),
                                            .v4(100, 128, 0, 1), .v4(198, 20, 0, 1), .v4(223, 255, 255, 1),
                                            .v6([0x00, 0x64, 0xFF, 0x9B] + Array(repeating: 0, count: 8) + [8, 8, 8, 8]),
                                            .v6([0x20, 0x02, 8, 8, 8, 8] + Array(repeating: 0, count: 10))]
        for address in open { #expect(!AddressGuard.isBlocked(address), "\(address)") }
        #expect(AddressGuard.resolve("localhost")?.contains(.v4(127, 0, 0, 1)) == true)
        let secure = WebhookTarget("https://Example.com:8443/a?b#c")
        #expect(secure?.secure == true && secure?.host == "Example.com" && secure?.port == 8443 && secure?.path == "/a?b")
        #expect(WebhookTarget("https://example.com")?.hostHeader == "example.com" && WebhookTarget("https://example.com")?.port == 443)
        #expect(WebhookTarget("http://[::1]:81")?.host == "::1" && WebhookTarget("http://[::1]:81")?.port == 81)
        #expect(WebhookTarget("http://h.example?q")?.path == "/?q")
        #expect(WebhookTarget("http://user@h.example/") == nil && WebhookTarget("http://h.example:99999/") == nil)
    }

    @Test func aDeliveryWhoseAttemptsDoNotReadIsNeverAttemptedOverThem() async throws {
        let server = try await TestServer.start { $0.webhookPrivateNetworks = true }
        let ada = try await server.signUp()
        // Port 1 refuses: the delivery is retried, so it stays pending.
        let hook = try await server.send("POST", "/v1/webhooks", token: ada.token, json: #"{"url":"http://127.0.0.1:1/","events":["run.created"]}"#)
        let hookID = hook.json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        #expect(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).status == 201)
        try await waitFor { (try await deliveries(server, ada.token, hookID).first?["attempts"]?.arrayValue?.count ?? 0) >= 1 }
        let db = try Database(path: server.databasePath)
        try db.execute("UPDATE webhook_deliveries SET attempts = CAST('{damaged' AS BLOB), next_attempt_at = 0 WHERE webhook_id = ?", [.text(hookID)])
        db.close()
        try await Task.sleep(for: .seconds(1))
        #expect(try await deliveries(server, ada.token, hookID).first?["attempts"]?.isNull == true)
        let kept = try Database(path: server.databasePath, options: DatabaseOptions(readOnly: true))
            .query("SELECT attempts FROM webhook_deliveries WHERE webhook_id = ?", [.text(hookID)]) { $0.blob(at: 0) ?? [] }.first
        #expect(kept == Array("{damaged".utf8), "the stored bytes are left as they are")
        await server.stop()
    }
}
