import TroupeCore
import TroupePersistence

/// A schedule was refused because the workspace has its plan's number of schedules.
public struct ScheduleCapReached: Error, Sendable, Equatable {
    public let cap: Int
}

/// The schedules use case (API.md, Schedules): create, read, list, change, trigger; and the
/// firing of their `due_work` rows — `schedule.fire` (key: the schedule) at each fire time plus
/// its jitter, `schedule.release` (key `<schedule>/release`) when one of its runs finishes.
/// Knows no HTTP.
public final class ScheduleService: Sendable {
    /// Runs listed by schedule (`GET /v1/runs?schedule_id=`): the column is written with the
    /// run's row and never changes; older rows have none.
    public static let migration = Migration("schedules-1 schedule column", adding: "schedule_id", "TEXT", to: "snapshots", then: """
        CREATE INDEX snapshots_by_schedule ON snapshots (kind, workspace_id, schedule_id, created_at, id) WHERE schedule_id IS NOT NULL;
        """)

    static let fireKind = "schedule.fire"
    static let releaseKind = "schedule.release"

    public let registry: ActorRegistry<ScheduleActor>
    private let context: ActorContext
    private let dependencies: ScheduleActor.Dependencies

    init(context: ActorContext, runs: RunService, workflows: WorkflowStore, scheduler: Scheduler,
         configuration: ActorRegistry<ScheduleActor>.Configuration = .init()) {
        self.context = context
        dependencies = ScheduleActor.Dependencies(runs: runs, workflows: workflows)
        registry = ActorRegistry(context: context, configuration: configuration)
        let registry = registry
        let dependencies = dependencies
        let store = context.store
        scheduler.register(Self.fireKind) { work in
            try await Self.handle(work, registry: registry, store: store) { try await $0.fire(work, dependencies) }
        }
        scheduler.register(Self.releaseKind) { work in
            try await Self.handle(work, registry: registry, store: store) { try await $0.release(work, dependencies) }
        }
    }

    /// Hands a row to its schedule; a schedule that cannot be read has the row set aside and
    /// removed (it would fail forever).
    private static func handle(
        _ work: DueWork, registry: ActorRegistry<ScheduleActor>, store: SnapshotStore,
        _ body: @escaping @Sendable (isolated ScheduleActor) async throws -> Void
    ) async throws {
        let id = String(work.key.split(separator: "/", maxSplits: 1).first ?? "")
        do {
            try await registry.call(id, body)
        } catch let error as ActorRuntimeError where error.code == .notFound || error.code == .corruptSnapshot {
            store.setAside.record(kind: "due_work", id: work.kind + "/" + work.key, reason: "its schedule cannot take it: \(error)")
            try await store.journal.commit(.system) { db in try DueWork.delete(kind: work.kind, key: work.key, on: db) }
        }
    }

    /// Stores a new schedule (its first fire armed) unless the workspace has `cap` schedules;
    /// `origin` is given the new id and state before the commit.
    public func create(_ settings: ScheduleState.Settings, in workspaceID: String, createdBy: JSON, cap: Int?,
                       origin: (String, ScheduleState) -> ChangeOrigin) async throws -> (id: String, state: ScheduleState) {
        let id = RandomID.make(prefix: "sch")
        let now = context.clock.now
        var state = ScheduleState(workspace: workspaceID, settings: settings, createdBy: createdBy, at: now)
        state.nextFireAt = settings.paused ? nil : settings.calendar?.next(after: now)
        let save = SnapshotStore.saveChange(state, kind: ScheduleActor.kind, id: id, at: now)
        let arm = Self.armChange(id: id, state)
        try await context.store.journal.commit(Change(origin(id, state)) { transaction in
            if let cap, try Self.count(transaction.db, workspaceID: workspaceID) >= cap { throw ScheduleCapReached(cap: cap) }
            try save(transaction.db)
            try arm(transaction)
        })
        return (id, state)
    }

    /// The workspace's schedules (deleted ones not), counted on `db` inside a change.
    static func count(_ db: Database, workspaceID: String) throws -> Int {
        Int(try db.scalar("SELECT count(*) FROM snapshots WHERE kind = 'schedule' AND workspace_id = ? AND status IN ('active', 'paused')",
                          [.text(workspaceID)])?.integerValue ?? 0)
    }

    /// The schedule, when it is `workspaceID`'s and not deleted; an id of another workspace
    /// is answered from its row without waking an actor.
    public func schedule(_ id: String, in workspaceID: String) async throws -> ScheduleState? {
        guard try await exists(id, in: workspaceID) else { return nil }
        return try await call(id, in: workspaceID) { $0.state }
    }

    /// What a person changes of a schedule.
    public enum Edit: Sendable {
        /// New settings (a PATCH: the caller merged what it gives over the current ones).
        case update(ScheduleState.Settings)
        /// Paused, with a new note if given.
        case pause(note: String?)
        case unpause
        case delete
    }

    /// Changes the schedule; nil when it is not there.
    public func change(_ id: String, in workspaceID: String, _ edit: Edit, origin: ChangeOrigin) async throws -> ScheduleState? {
        guard try await exists(id, in: workspaceID) else { return nil }
        return try await call(id, in: workspaceID) { schedule in try await schedule.change(edit, origin: origin) }
    }

    /// Starts a run of the schedule now (``ScheduleActor/trigger(policy:_:origin:)``); nil when
    /// the schedule is not there.
    public func trigger(_ id: String, in workspaceID: String, policy: ScheduleState.OverlapPolicy?,
                        origin: @escaping @Sendable (String, RunState) -> ChangeOrigin) async throws -> (id: String, state: RunState)? {
        guard try await exists(id, in: workspaceID) else { return nil }
        let dependencies = dependencies
        return try await call(id, in: workspaceID) { schedule in
            try await schedule.trigger(policy: policy ?? schedule.state.settings.overlapPolicy, dependencies, origin: origin)
        }
    }

    /// Up to `limit` of the workspace's schedules, newest first, after `cursor`; one that does
    /// not decode is set aside.
    public func list(in workspaceID: String, after cursor: (createdAt: Int64, id: String)?, limit: Int) async throws -> [(id: String, state: ScheduleState)] {
        let rows = try await context.store.reader.read { db in
            var sql = "SELECT id, state, schema_version FROM snapshots WHERE kind = 'schedule' AND workspace_id = ? AND status IN ('active', 'paused')"
            var arguments: [SQLValue] = [.text(workspaceID)]
            if let cursor {
                sql += " AND (created_at, id) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            return try db.query(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", arguments + [.integer(Int64(limit))]) {
                ($0.string(at: 0) ?? "", $0.blob(at: 1) ?? [], Int($0.int64(at: 2)))
            }
        }
        return rows.compactMap { id, blob, version in
            do {
                return (id, try ScheduleState(decoding: try JSON.parse(blob), schemaVersion: version))
            } catch {
                context.store.setAside.record(kind: ScheduleActor.kind, id: id, reason: "its snapshot does not decode: \(error)")
                return nil
            }
        }
    }

    /// Whether `id` may be the workspace's: a resident schedule (its actor then checks, in
    /// ``call(_:in:_:)``), or one whose row is the workspace's and not deleted.
    private func exists(_ id: String, in workspaceID: String) async throws -> Bool {
        if registry.isResident(id) { return true }
        return try await context.store.reader.readStatement { db in
            try db.scalar("SELECT 1 FROM snapshots WHERE kind = 'schedule' AND id = ? AND workspace_id = ? AND status != 'deleted'",
                          [.text(id), .text(workspaceID)]) != nil
        }
    }

    /// `body` on the schedule after checking, in the same call, that it is the workspace's and
    /// not deleted (a deletion may have committed since ``exists(_:in:)``); nil otherwise.
    private func call<R: Sendable>(_ id: String, in workspaceID: String,
                                   _ body: @escaping @Sendable (isolated ScheduleActor) async throws -> R) async throws -> R? {
        do {
            return try await registry.call(id) { schedule in
                guard schedule.state.workspace == workspaceID, !schedule.state.deleted else { return nil }
                return try await body(schedule)
            }
        } catch let error as ActorRuntimeError where error.code == .notFound {
            return nil
        }
    }

    // MARK: - Due work

    /// The fire time a `schedule.fire` row stands for (its payload), without jitter.
    static func fireTime(of work: DueWork) -> Timestamp? {
        Int64(String(decoding: work.payload, as: UTF8.self)).map { Timestamp(microsecondsSinceEpoch: $0) }
    }

    /// When the fire for `fireAt` is due: plus a deterministic offset in `0...jitter_ms` drawn
    /// from the schedule and the fire time (FNV-1a), the same after a restart.
    static func dueAt(of fireAt: Timestamp, id: String, _ settings: ScheduleState.Settings) -> Timestamp {
        guard settings.jitterMilliseconds > 0 else { return fireAt }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(id.utf8) + Array(String(fireAt.microsecondsSinceEpoch).utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return fireAt + .milliseconds(Int64(hash % UInt64(settings.jitterMilliseconds + 1)))
    }

    /// The schedule's fire row as `state` has it: due at its next fire, or removed (paused,
    /// deleted, past its end).
    static func armChange(id: String, _ state: ScheduleState) -> @Sendable (JournalTransaction) throws -> Void {
        guard let fireAt = state.nextFireAt, !state.deleted, !state.settings.paused else {
            return { try $0.unschedule(kind: fireKind, key: id) }
        }
        let work = DueWork(kind: fireKind, key: id, workspaceID: state.workspace, dueAt: dueAt(of: fireAt, id: id, state.settings),
                           payload: Array(String(fireAt.microsecondsSinceEpoch).utf8))
        return { try $0.schedule(work) }
    }

    /// The row a finished run of schedule `scheduleID` makes due now.
    static func releaseWork(scheduleID: String, workspaceID: String, at now: Timestamp) -> DueWork {
        DueWork(kind: releaseKind, key: scheduleID + "/release", workspaceID: workspaceID, dueAt: now)
    }

    /// The origin of what a schedule does by itself: no principal, an audit entry of `event`
    /// on run `runID` with the actor `{type: "schedule", id}`.
    static func origin(of scheduleID: String, workspaceID: String, event: String, runID: String) -> ChangeOrigin {
        ChangeOrigin(principal: nil, requestID: nil, ip: nil, audit: AuditIntent(AuditDraft(
            workspaceID: workspaceID, actor: AuditActor(type: "schedule", id: scheduleID), event: event, targetType: "run", targetID: runID,
            requestID: nil, ip: nil)))
    }
}
