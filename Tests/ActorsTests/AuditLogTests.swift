import Testing
import TroupeCore
import TroupePersistence

@testable import TroupeActors

/// The audit chain as the journal writes it and verify reads it: per workspace, in commit
/// order, carried by the change it records, and broken at the right seq by any edit.
@Suite(.timeLimit(.minutes(5)))
struct AuditLogTests {
    private struct Refused: Error {}

    private func intent(_ workspace: String, _ event: String, target: String? = nil, note: String? = nil) -> AuditIntent {
        AuditIntent(AuditDraft(workspaceID: workspace, actor: AuditActor(type: AuditActor.apiKey, id: "key_1"), event: event,
                               targetType: "run", targetID: target, note: note, requestID: "req_1", ip: "127.0.0.1"))
    }

    private func record(_ runtime: TroupeRuntime, _ workspace: String, _ event: String, note: String? = nil) async throws {
        let origin = ChangeOrigin(principal: nil, requestID: "req_1", ip: "127.0.0.1", audit: intent(workspace, event, note: note))
        try await runtime.store.journal.commit(Change(origin) { _ in })
    }

    private func edit(_ runtime: TroupeRuntime, _ sql: String) throws {
        let db = try Database(path: runtime.path)
        defer { db.close() }
        try db.execute(sql)
    }

    @Test func eachWorkspaceChainsItsEntriesInCommitOrderAndAFailedChangeLeavesNone() async throws {
        let runtime = try await TroupeRuntime.temporary()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                group.addTask { try await record(runtime, index % 3 == 0 ? "ws_b" : "ws_a", "run.created") }
            }
            try await group.waitForAll()
        }
        // A change that fails takes its entry with it; the request's next change carries it.
        let carried = intent("ws_a", "run.approved", note: "ship it")
        let origin = ChangeOrigin(principal: nil, requestID: "req_2", ip: nil, audit: carried)
        await #expect(throws: Refused.self) { try await runtime.store.journal.commit(Change(origin) { _ in throw Refused() }) }
        #expect(!carried.committed)
        try await runtime.store.journal.commit(Change(origin) { _ in })
        try await runtime.store.journal.commitAudit(origin)  // already carried: nothing more
        #expect(carried.committed)

        let a = try await runtime.store.audit.entries(workspaceID: "ws_a", filter: .init(), limit: 100)
        #expect(a.map(\.seq) == Array((1...41).reversed()))
        #expect(a.first?.event == "run.approved" && a.first?.note == "ship it")
        for (newer, older) in zip(a, a.dropFirst()) { #expect(newer.prevHash == older.hash) }
        #expect(a.last?.prevHash == AuditEntry.genesisHash)
        let verified = try await runtime.store.audit.verify(workspaceID: "ws_a")
        #expect(verified.valid && verified.checkedCount == 41)
        #expect(verified.anchor?.seq == 41 && verified.anchor?.hash == a.first?.hash, "the anchor is the last entry verified")
        #expect(try await runtime.store.audit.verify(workspaceID: "ws_b").checkedCount == 20)
        // Filters and the cursor's seq.
        var filter = AuditLog.Filter()
        filter.event = "run.approved"
        #expect(try await runtime.store.audit.entries(workspaceID: "ws_a", filter: filter, limit: 10).map(\.seq) == [41])
        filter = AuditLog.Filter()
        filter.beforeSeq = 3
        #expect(try await runtime.store.audit.entries(workspaceID: "ws_a", filter: filter, limit: 10).map(\.seq) == [2, 1])
        await runtime.close()
    }

    @Test func anEditADeletionAndAMoveEachBreakTheChainWhereTheyAreAndAppendingDoesNotRepairIt() async throws {
        let runtime = try await TroupeRuntime.temporary()
        for _ in 0..<6 { try await record(runtime, "ws_a", "run.created") }
        let audit = runtime.store.audit
        try edit(runtime, "UPDATE audit_entries SET note = 'nothing to see' WHERE seq = 3")
        let edited = try await audit.verify(workspaceID: "ws_a")
        #expect(edited.checkedCount == 3 && edited.firstInvalidSeq == 3 && edited.anchor?.seq == 2)
        // The server appends after the last entry and the break stays reported.
        try await record(runtime, "ws_a", "run.cancelled")
        #expect(try await audit.verify(workspaceID: "ws_a").firstInvalidSeq == 3)
        try edit(runtime, "UPDATE audit_entries SET note = NULL WHERE seq = 3")
        let repaired = try await audit.verify(workspaceID: "ws_a")
        #expect(repaired.valid && repaired.checkedCount == 7)
        // A deleted entry: the break is at its own seq, the first one missing.
        try edit(runtime, "DELETE FROM audit_entries WHERE seq = 5")
        #expect(try await audit.verify(workspaceID: "ws_a").firstInvalidSeq == 5)
        await runtime.close()

        let moved = try await TroupeRuntime.temporary()
        for _ in 0..<4 { try await record(moved, "ws_a", "run.created") }
        // Two entries swapped, seqs and all: the first out of place is at seq 2.
        try edit(moved, "UPDATE audit_entries SET seq = -2 WHERE seq = 2")
        try edit(moved, "UPDATE audit_entries SET seq = 2 WHERE seq = 3")
        try edit(moved, "UPDATE audit_entries SET seq = 3 WHERE seq = -2")
        #expect(try await moved.store.audit.verify(workspaceID: "ws_a").firstInvalidSeq == 2)
        // An entry moved below the first seq.
        try edit(moved, "UPDATE audit_entries SET seq = 0 WHERE seq = 4")
        #expect(try await moved.store.audit.verify(workspaceID: "ws_a").firstInvalidSeq == 0)
        await moved.close()
    }

    /// Two long verifications run at once; a plain read asked meanwhile is served before either
    /// finishes (before pieces on a connection of their own, it waited for one whole while
    /// they held both readers); and a workspace runs one verification at a time.
    @Test func aLongVerificationLetsOtherReadsGoFirstBetweenItsPieces() async throws {
        let runtime = try await TroupeRuntime.temporary()
        for workspace in ["ws_a", "ws_b"] {
            for _ in 0..<8 {
                try await runtime.store.journal.commit(Change(.system) { transaction in
                    for _ in 0..<1_000 { transaction.audit(intent(workspace, "run.created").draft) }
                })
            }
        }
        let finished = LockedBox<[String]>([])
        let verifications = ["ws_a", "ws_b"].map { workspace in
            Task {
                let checked = try await runtime.store.audit.verify(workspaceID: workspace).checkedCount
                finished.withLock { $0.append("verify \(checked)") }
            }
        }
        // A second verification of a workspace while its first runs is refused (429).
        while !runtime.store.audit.isVerifying("ws_a") { await Task.yield() }
        await #expect(throws: AuditLog.VerificationRunning(workspaceID: "ws_a")) { _ = try await runtime.store.audit.verify(workspaceID: "ws_a") }
        _ = try await runtime.store.reader.read { db in try db.scalar("SELECT count(*) FROM audit_entries WHERE workspace_id = 'ws_c'") }
        finished.withLock { $0.append("read") }
        for verification in verifications { try await verification.value }
        #expect(finished.value.first == "read", "\(finished.value)")
        #expect(finished.value.filter { $0 == "verify 8000" }.count == 2)
        await runtime.close()
    }

    @Test func verifyReadsTheChainInPagesAndAnEmptyChainIsValid() async throws {
        let runtime = try await TroupeRuntime.temporary()
        for _ in 0..<7 { try await record(runtime, "ws_a", "run.created") }
        let db = try Database(path: runtime.path, options: DatabaseOptions(readOnly: true))
        let paged = try AuditLog.verify(db, workspaceID: "ws_a", pageSize: 2)
        #expect(paged.valid && paged.checkedCount == 7 && paged.anchor?.seq == 7)
        let empty = try AuditLog.verify(db, workspaceID: "ws_none")
        #expect(empty.valid && empty.checkedCount == 0 && empty.anchor == nil)
        db.close()
        await runtime.close()
    }

    /// The writer's cut-up canonical form hashes exactly as the general RFC 8785 path does,
    /// for drafts with and without every optional field and with strings that need escapes.
    @Test func thePreparedCanonicalFormIsTheGeneralOnesBytes() throws {
        var generator = SeededGenerator(seed: 14)
        let strings: [String?] = [nil, "", "plain", "quote \" and \\ backslash", "line\nbreak\u{1}", "é€😀", "\u{7f}/"]
        for _ in 0..<300 {
            func pick() -> String? { strings[Int.random(in: 0..<strings.count, using: &generator)] }
            let actor = Bool.random(using: &generator)
                ? AuditActor(type: AuditActor.user, id: pick() ?? "usr_1", email: pick())
                : AuditActor(type: AuditActor.apiKey, id: pick() ?? "key_1")
            let draft = AuditDraft(workspaceID: "ws_a", actor: actor, event: pick() ?? "run.created", targetType: pick() ?? "run",
                                   targetID: pick(), note: pick(), requestID: pick(), ip: pick())
            let (entry, _) = PreparedAudit(draft).entry(seq: Int64.random(in: 1...Int64(1) << 53, using: &generator), prevHash: AuditEntry.genesisHash,
                                                   at: Timestamp(microsecondsSinceEpoch: Int64.random(in: 0...4_000_000_000_000_000, using: &generator)))
            #expect(entry.hash == (try entry.expectedHash()), "\(draft)")
        }
    }
}
