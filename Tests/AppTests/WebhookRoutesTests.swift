import Foundation
import Testing
import TroupeCore
import TroupePersistence

/// Webhook registrations and their outbox (API.md, "Events and webhooks"): what is shown and
/// kept, who may do what, and a delivery row per matching event, written with the event
/// (sending them: ``WebhookDeliveryTests``).
@Suite(.serialized, .timeLimit(.minutes(5))) struct WebhookRoutesTests {
    private func deliveries(_ server: TestServer, _ token: String, _ id: String) async throws -> [JSON] {
        let reply = try await server.send("GET", "/v1/webhooks/\(id)/deliveries?limit=200", token: token)
        guard reply.status == 200 else { throw TestFailure("deliveries: \(reply.status) \(reply.text)") }
        return reply.json["data"]?.arrayValue ?? []
    }

    private func register(_ server: TestServer, _ token: String, _ body: String) async throws -> JSON {
        let reply = try await server.send("POST", "/v1/webhooks", token: token, json: body)
        guard reply.status == 201 else { throw TestFailure("webhook: \(reply.status) \(reply.text)") }
        return reply.json
    }

    @Test func eachMatchingEventGetsADeliveryWrittenWithItAndTheSecretIsShownOnce() async throws {
        var server = try await TestServer.start()
        let ada = try await server.signUp()
        let all = try await register(server, ada.token, #"{"url":"https://hooks.example.com/troupe","events":["*"],"description":"all"}"#)
        let some = try await register(server, ada.token, #"{"url":"http://hooks.example.com/x","events":["run.cancelled","run.cancelled"],"secret":"a shared secret of ours"}"#)
        let allID = all["id"]?.stringValue ?? ""
        let someID = some["id"]?.stringValue ?? ""
        #expect(all["secret"]?.stringValue?.hasPrefix("whsec_") == true)
        #expect(some["secret"] == "a shared secret of ours" && some["events"] == ["run.cancelled"])
        let listed = try await server.send("GET", "/v1/webhooks", token: ada.token)
        #expect(listed.json["data"]?.arrayValue?.map { $0["id"]?.stringValue ?? "" } == [someID, allID])
        #expect(!listed.text.contains("secret"), "a secret is shown once, at creation")

        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let run = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/runs/\(run)/cancel", token: ada.token).status == 200)
        let toAll = try await deliveries(server, ada.token, allID)
        #expect(Set(toAll.compactMap { $0["event_type"]?.stringValue }) == ["run.created", "run.started", "step.started", "run.cancelled"])
        // The dispatcher may have tried them already (hooks.example.com: WebhookDeliveryTests has a real receiver).
        #expect(toAll.allSatisfy { $0["webhook_id"] == .string(allID) && $0["attempts"]?.arrayValue != nil && $0["status"]?.stringValue != nil })
        #expect(toAll.first?["id"]?.stringValue?.hasPrefix("dlv_") == true)
        #expect(try await deliveries(server, ada.token, someID).map { $0["event_type"]?.stringValue ?? "" } == ["run.cancelled"])

        // The secret is kept sealed; the outbox still knows the workspace's webhooks after a restart.
        let stored = try Database(path: server.databasePath, options: DatabaseOptions(readOnly: true))
            .query("SELECT secret FROM webhooks WHERE id = ?", [.text(someID)]) { $0.blob(at: 0) ?? [] }.first ?? []
        #expect(!String(decoding: stored, as: UTF8.self).contains("shared secret"))
        server = try await server.restart()
        let second = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/runs/\(second)/cancel", token: ada.token).status == 200)
        #expect(try await deliveries(server, ada.token, someID).count == 2)

        // Deleted: no more deliveries, and it is gone.
        #expect(try await server.send("DELETE", "/v1/webhooks/\(someID)", token: ada.token).status == 204)
        #expect(try await server.send("DELETE", "/v1/webhooks/\(someID)", token: ada.token).status == 404)
        #expect(try await server.send("GET", "/v1/webhooks/\(someID)/deliveries", token: ada.token).status == 404)
        await server.stop()
    }

    @Test func badRegistrationsAre422AndOnlyManagersManage() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        for body in [#"{"url":"ftp://example.com/x","events":["*"]}"#, #"{"url":"https://","events":["*"]}"#,
                     #"{"url":"https://example.com","events":["run.exploded"]}"#, #"{"url":"https://example.com","events":[]}"#,
                     #"{"url":"https://example.com","events":["*"],"secret":"short"}"#, #"{"events":["*"]}"#,
                     #"{"url":"javascript:alert(1)","events":["*"]}"#] {
            let reply = try await server.send("POST", "/v1/webhooks", token: ada.token, json: body)
            #expect(reply.status == 422, "\(body): \(reply.status) \(reply.text)")
        }
        let hook = try await register(server, ada.token, #"{"url":"https://example.com/h","events":["*"]}"#)["id"]?.stringValue ?? ""
        let reader = try await server.createKey(ada, scopes: ["events:read"])
        #expect(try await server.send("POST", "/v1/webhooks", token: reader.raw, json: #"{"url":"https://e.com","events":["*"]}"#).status == 403)
        let listed = try await server.send("GET", "/v1/webhooks", token: reader.raw)
        #expect(listed.status == 200, "listing is reading events' configuration: events:read, as API.md says")
        #expect(listed.json["data"]?.arrayValue?.first?["secret"] == nil, "never the secret")
        let manageOnly = try await server.createKey(ada, scopes: ["webhooks:manage"])
        #expect(try await server.send("GET", "/v1/webhooks", token: manageOnly.raw).status == 403)
        #expect(try await server.send("GET", "/v1/webhooks/\(hook)/deliveries", token: reader.raw).status == 200)
        let manager = try await server.createKey(ada, scopes: ["webhooks:manage"])
        #expect(try await server.send("POST", "/v1/webhooks", token: manager.raw, json: #"{"url":"https://e.com","events":["*"]}"#).status == 201)
        // Another workspace's webhook is as absent as an unknown one.
        let grace = try await server.signUp()
        #expect(try await server.send("GET", "/v1/webhooks/\(hook)/deliveries", token: grace.token).status == 404)
        #expect(try await server.send("DELETE", "/v1/webhooks/\(hook)", token: grace.token).status == 404)
        #expect(try await server.send("GET", "/v1/webhooks/\(hook)/deliveries", token: ada.token).status == 200)
        await server.stop()
    }

    /// The attack: a workspace registering webhooks without end, each costing the dispatcher
    /// work for every event. The 21st is 429; deleting one makes room.
    @Test func aWorkspaceHasAtMostTwentyWebhooks() async throws {
        let server = try await TestServer.start { $0.plans[.starter]?.requestsPerMinute = nil }
        let ada = try await server.signUp()
        var ids: [String] = []
        for index in 0..<20 {
            ids.append(try await register(server, ada.token, #"{"url":"https://example.com/\#(index)","events":["*"]}"#)["id"]?.stringValue ?? "")
        }
        let refused = try await server.send("POST", "/v1/webhooks", token: ada.token, json: #"{"url":"https://example.com/x","events":["*"]}"#)
        #expect(refused.status == 429)
        #expect(try await server.send("DELETE", "/v1/webhooks/\(ids[0])", token: ada.token).status == 204)
        #expect(try await server.send("POST", "/v1/webhooks", token: ada.token, json: #"{"url":"https://example.com/y","events":["*"]}"#).status == 201)
        await server.stop()
    }
}
