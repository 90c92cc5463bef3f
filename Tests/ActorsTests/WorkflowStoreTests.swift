import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct WorkflowStoreTests {
    private let steps = WorkflowTemplate.shipFromTicket.steps

    @Test func versionsSlugsAndWorkspaces() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let store = WorkflowStore(store: runtime.store)
        let created = try await store.create(id: "wf_1", workspaceID: "ws_a", slug: "ship", name: "Ship", steps: steps, costCapUSD: 5, at: clock.now)
        #expect(created.version == 1)
        let taken = await #expect(throws: WorkflowStoreError.self) {
            try await store.create(id: "wf_2", workspaceID: "ws_a", slug: "ship", name: "Again", steps: steps, costCapUSD: nil, at: clock.now)
        }
        #expect(taken?.code == .slugTaken)
        // Another workspace may use the slug, and never sees ws_a's workflow.
        _ = try await store.create(id: "wf_3", workspaceID: "ws_b", slug: "ship", name: "B", steps: steps, costCapUSD: nil, at: clock.now)
        #expect(try await store.workflow(workspaceID: "ws_b", idOrSlug: "wf_1") == nil)
        #expect(try await store.workflow(workspaceID: "ws_b", idOrSlug: "ship")?.id == "wf_3")

        clock.advance(by: .seconds(1))
        let shorter = Array(steps.prefix(2))
        let replaced = try await store.replace(workspaceID: "ws_a", idOrSlug: "ship", name: nil, steps: shorter, costCapUSD: .some(nil), at: clock.now)
        #expect(replaced.version == 2)
        #expect(replaced.name == "Ship")
        #expect(replaced.costCapUSD == nil)
        #expect(replaced.updatedAt > replaced.createdAt)
        let read = try #require(try await store.workflow(workspaceID: "ws_a", idOrSlug: "wf_1"))
        #expect(read.steps == shorter)
        // Version 1 is kept for the runs that started with it.
        let versions = try await runtime.store.reader.read { db in
            try db.scalar("SELECT count(*) FROM workflow_versions WHERE workflow_id = 'wf_1'")?.integerValue
        }
        #expect(versions == 2)

        try await store.delete(workspaceID: "ws_a", idOrSlug: "ship", at: clock.now)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "wf_1") == nil)
        let again = await #expect(throws: WorkflowStoreError.self) { try await store.delete(workspaceID: "ws_a", idOrSlug: "ship", at: clock.now) }
        #expect(again?.code == .notFound)
        // The slug is free again once deleted.
        _ = try await store.create(id: "wf_4", workspaceID: "ws_a", slug: "ship", name: "New", steps: steps, costCapUSD: nil, at: clock.now)
        #expect(try await store.workflows(workspaceID: "ws_a", after: nil, limit: 10).map(\.id) == ["wf_4"])
        await runtime.close()
    }

    @Test func lookupsServedFromTheCacheFollowEveryReplaceAndDelete() async throws {
        let clock = ManualClock()
        let runtime = try await TroupeRuntime.temporary(clock: clock)
        let store = WorkflowStore(store: runtime.store)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "ship") == nil)
        _ = try await store.create(id: "wf_1", workspaceID: "ws_a", slug: "ship", name: "Ship", steps: steps, costCapUSD: nil, at: clock.now)
        // A miss was not kept: the new workflow is found at once, by slug and by id.
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "ship")?.version == 1)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "wf_1")?.version == 1)
        _ = try await store.replace(workspaceID: "ws_a", idOrSlug: "ship", name: nil, steps: Array(steps.prefix(1)), costCapUSD: nil, at: clock.now)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "wf_1")?.steps.count == 1)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "ship")?.version == 2)
        try await store.delete(workspaceID: "ws_a", idOrSlug: "wf_1", at: clock.now)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "ship") == nil)
        #expect(try await store.workflow(workspaceID: "ws_a", idOrSlug: "wf_1") == nil)
        await runtime.close()
    }

    @Test func aLookupThatRacedWithAChangeIsNotKept() {
        let cache = LiveWorkflowCache(capacity: 3)
        let record = WorkflowRecord(id: "wf_1", workspaceID: "ws_a", slug: "ship", name: "Ship", version: 1, steps: steps, costCapUSD: nil,
                                    createdAt: Timestamp(microsecondsSinceEpoch: 0), updatedAt: Timestamp(microsecondsSinceEpoch: 0))
        let before = cache.lookup(workspaceID: "ws_a", idOrSlug: "ship").generation
        cache.drop(workspaceID: "ws_a")
        cache.fill(record, ifUnchangedSince: before)
        #expect(cache.lookup(workspaceID: "ws_a", idOrSlug: "ship").record == nil)
        let now = cache.lookup(workspaceID: "ws_a", idOrSlug: "ship").generation
        cache.fill(record, ifUnchangedSince: now)
        #expect(cache.lookup(workspaceID: "ws_a", idOrSlug: "wf_1").record?.version == 1)
        // Past its capacity the cache starts over rather than grow.
        let other = WorkflowRecord(id: "wf_2", workspaceID: "ws_b", slug: "b", name: "B", version: 1, steps: steps, costCapUSD: nil,
                                   createdAt: Timestamp(microsecondsSinceEpoch: 0), updatedAt: Timestamp(microsecondsSinceEpoch: 0))
        cache.fill(other, ifUnchangedSince: now)
        #expect(cache.lookup(workspaceID: "ws_a", idOrSlug: "wf_1").record == nil)
        #expect(cache.lookup(workspaceID: "ws_b", idOrSlug: "b").record?.id == "wf_2")
    }
}
