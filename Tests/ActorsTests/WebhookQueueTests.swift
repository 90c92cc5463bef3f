import Foundation
import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

/// The event log as the webhook outbox: a webhook's deliveries are queued a few at a time,
/// listed before they are queued under the ids they keep, and only for events after it.
@Suite(.timeLimit(.minutes(5)))
struct WebhookQueueTests {
    private let now = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)

    private func emit(_ runtime: TroupeRuntime, _ types: [EventType], workspace: String = "ws_a") async throws {
        try await runtime.store.journal.commit(Change(.system) { transaction in
            for type in types { transaction.emit(EventDraft(type, workspaceID: workspace, runID: nil, runCreatedAt: nil, data: [:])) }
        })
    }

    private func webhook(_ runtime: TroupeRuntime, _ store: WebhookStore, _ id: String, events: [String], workspace: String = "ws_a") async throws {
        try await store.create(WebhookRecord(id: id, workspaceID: workspace, url: "http://example.com/", events: events, description: nil,
                                             sealedSecret: [1, 2, 3], createdAt: now), origin: .system)
    }

    private func rows(_ runtime: TroupeRuntime, _ webhookID: String) async throws -> [Int64] {
        try await runtime.store.reader.readStatement { db in
            try db.query("SELECT event_seq FROM webhook_deliveries WHERE webhook_id = ? ORDER BY event_seq", [.text(webhookID)]) { $0.int64(at: 0) }
        }
    }

    @Test func deliveriesAreQueuedAsTheWebhookHasRoomAndListedWithTheSameIdsBefore() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let store = WebhookStore(store: runtime.store)
        try await emit(runtime, [.runCreated, .runStarted])  // before the webhook: never its
        try await webhook(runtime, store, "whk_all", events: ["*"])
        for _ in 0..<20 { try await emit(runtime, [.runCreated, .runStarted]) }  // seqs 3...42

        let listed = try await store.deliveries(webhookID: "whk_all", beforeSeq: nil, limit: 100)
        #expect(listed.map(\.eventSeq) == Array((3...42).reversed()), "every owed event, newest first, nothing before the webhook")
        #expect(listed.allSatisfy { $0.status == .pending && $0.attempts == [] })
        #expect(Set(listed.map(\.id)).count == 40)

        #expect(try await store.queue.fill(at: now) == WebhookQueue.depth)
        #expect(try await rows(runtime, "whk_all") == Array(3...18), "the oldest, up to the queue's depth")
        #expect(try await store.queue.fill(at: now) == 0, "no room until one is done")
        let relisted = try await store.deliveries(webhookID: "whk_all", beforeSeq: nil, limit: 100)
        #expect(relisted.map(\.id) == listed.map(\.id), "a queued delivery keeps the id it was listed with")
        #expect(try await store.deliveries(webhookID: "whk_all", beforeSeq: 20, limit: 5).map(\.eventSeq) == [19, 18, 17, 16, 15],
                "a page runs from the unqueued into the queued")

        // Three finish: three more are queued, in order.
        try await runtime.store.journal.commit(.system) { db in
            try db.execute("UPDATE webhook_deliveries SET status = 'succeeded' WHERE webhook_id = 'whk_all' AND event_seq <= 5")
        }
        #expect(try await store.queue.fill(at: now) == 3)
        #expect(try await rows(runtime, "whk_all") == Array(3...21))
        await runtime.close()
    }

    /// One workspace's backlog never fills the dispatcher's page ahead of another's, and a
    /// delivery being attempted is not fetched again.
    @Test func aPageOfDueDeliveriesHoldsEveryWorkspacesShareAndNothingInFlight() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let store = WebhookStore(store: runtime.store)
        for index in 0..<4 { try await webhook(runtime, store, "whk_a\(index)", events: ["*"]) }
        try await webhook(runtime, store, "whk_b", events: ["*"], workspace: "ws_b")
        for _ in 0..<10 { try await emit(runtime, [.runCreated, .runStarted]) }
        try await emit(runtime, [.runCreated], workspace: "ws_b")
        _ = try await store.queue.fill(at: now)
        let page = try await store.due(at: now + .seconds(1), limit: 8, perWorkspace: 6)
        #expect(page.filter { $0.workspaceID == "ws_a" }.count == 6)
        #expect(page.filter { $0.workspaceID == "ws_b" }.count == 1, "the quiet workspace is in the page")
        let next = try await store.due(at: now + .seconds(1), limit: 8, perWorkspace: 6, inFlight: Set(page.map(\.delivery.id)))
        #expect(Set(next.map(\.delivery.id)).isDisjoint(with: page.map(\.delivery.id)), "nothing in flight is fetched again")
        await runtime.close()
    }

    @Test func aWebhookOfSomeTypesPassesOverTheRestAndADeletedOneGetsNoMore() async throws {
        let runtime = try await TroupeRuntime.temporary()
        let store = WebhookStore(store: runtime.store)
        try await webhook(runtime, store, "whk_some", events: ["run.cancelled"])
        try await webhook(runtime, store, "whk_gone", events: ["*"])
        try await webhook(runtime, store, "whk_other", events: ["*"], workspace: "ws_b")
        for round in 0..<30 { try await emit(runtime, round % 10 == 9 ? [.runCreated, .runCancelled] : [.runCreated]) }  // 33 events
        #expect(try await store.delete(id: "whk_gone", workspaceID: "ws_a", at: now, origin: .system))

        #expect(try await store.queue.fill(at: now) == 3)
        let cancelled = try await runtime.store.events.events(workspaceID: "ws_a", after: 0, limit: 100).filter { $0.type == .runCancelled }.map(\.seq)
        #expect(try await rows(runtime, "whk_some") == cancelled)
        #expect(try await rows(runtime, "whk_gone").isEmpty, "deleted")
        #expect(try await rows(runtime, "whk_other").isEmpty, "another workspace's had no event")
        let mark = try await runtime.store.reader.readStatement { db in
            try db.scalar("SELECT queued_through FROM webhooks WHERE id = 'whk_some'")
        }
        #expect(mark == .integer(33), "it read to the end of the log")
        #expect(try await store.queue.fill(at: now) == 0)
        await runtime.close()
    }

    @Test func aDatabaseWhoseDeliveriesWereWrittenWithTheirEventsIsQueuedThroughItsLastEvent() async throws {
        let path = NSTemporaryDirectory() + "troupe-webhooks-" + RandomID.make(prefix: "t") + ".db"
        let all = TroupeRuntime.migrations.migrations
        let before = try Database(path: path)
        _ = try Migrator(Array(all.prefix { $0.name != "webhooks-2-queued-through" })).migrate(before)
        _ = try EventLog.append((0..<5).map { _ in EventDraft(.runCreated, workspaceID: "ws_a", runID: nil, runCreatedAt: nil, data: [:]) },
                                on: before, at: now)
        try before.execute("""
            INSERT INTO webhooks (id, workspace_id, url, events, secret, created_at) VALUES ('whk_old', 'ws_a', 'http://example.com/', '["*"]', x'01', 0);
            INSERT INTO webhook_deliveries (webhook_id, event_seq, id, workspace_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
                WITH RECURSIVE seqs(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM seqs WHERE value < 5)
                SELECT 'whk_old', value, 'dlv_' || value, 'ws_a', 'evt_' || value, 'run.created', 'succeeded', x'5b5d', NULL, 0 FROM seqs;
            """)
        before.close()
        let runtime = try await TroupeRuntime.open(path: path, clock: ManualClock())
        let store = WebhookStore(store: runtime.store)
        #expect(try await store.queue.fill(at: now) == 0, "its five events had their rows already")
        #expect(try await store.deliveries(webhookID: "whk_old", beforeSeq: nil, limit: 10).map(\.id) == (1...5).reversed().map { "dlv_\($0)" })
        try await emit(runtime, [.runStarted])
        #expect(try await store.queue.fill(at: now) == 1)
        #expect(try await rows(runtime, "whk_old") == Array(1...6))
        await runtime.close()
    }

    @Test func aDeliveryIdIsTheShapeOfARandomOneAndNamesItsWebhookAndEvent() {
        let id = WebhookDelivery.id(webhookID: "whk_a", eventSeq: 7)
        #expect(id.hasPrefix("dlv_") && id.count == 24 && id.dropFirst(4).allSatisfy { $0.isNumber || ("a"..."z").contains($0) })
        #expect(id == WebhookDelivery.id(webhookID: "whk_a", eventSeq: 7))
        #expect(id != WebhookDelivery.id(webhookID: "whk_a", eventSeq: 8) && id != WebhookDelivery.id(webhookID: "whk_b", eventSeq: 7))
    }
}
