import TroupeCore

/// Live workflows recently looked up, by workspace and then by id and by slug, so that creating
/// a run does not read and parse its workflow from SQLite each time.
///
/// Only found workflows are kept (a workflow created later is never hidden by a cached miss).
/// ``WorkflowStore`` drops a workspace's entries after each replace or delete commits, and a
/// lookup that raced with such a change is not kept: ``fill(_:ifUnchangedSince:)`` compares the
/// generation read before the lookup with the current one, which every drop bumps.
final class LiveWorkflowCache: Sendable {
    private struct Entries {
        var byWorkspace: [String: [String: WorkflowRecord]] = [:]
        var count = 0
        var generation = 0
    }

    /// Entries kept at most; past it the cache starts over.
    private let capacity: Int
    private let entries = LockedBox(Entries())

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The cached workflow, and the generation to hand to ``fill(_:ifUnchangedSince:)`` on a miss.
    func lookup(workspaceID: String, idOrSlug: String) -> (record: WorkflowRecord?, generation: Int) {
        entries.withLock { ($0.byWorkspace[workspaceID]?[idOrSlug], $0.generation) }
    }

    /// Keeps `record` (under its id and its slug) unless a change was dropped since `generation`.
    func fill(_ record: WorkflowRecord, ifUnchangedSince generation: Int) {
        entries.withLock { entries in
            guard entries.generation == generation else { return }
            if entries.count + 2 > capacity { entries = Entries(generation: entries.generation) }
            var workspace = entries.byWorkspace[record.workspaceID, default: [:]]
            for key in [record.id, record.slug] where workspace.updateValue(record, forKey: key) == nil { entries.count += 1 }
            entries.byWorkspace[record.workspaceID] = workspace
        }
    }

    /// Forgets the workspace's workflows (after one of them changed).
    func drop(workspaceID: String) {
        entries.withLock { entries in
            entries.generation += 1
            entries.count -= entries.byWorkspace.removeValue(forKey: workspaceID)?.count ?? 0
        }
    }
}
