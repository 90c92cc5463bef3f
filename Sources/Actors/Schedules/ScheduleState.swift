import TroupeCore

/// A schedule's durable state (API.md, Schedules): what it starts and when, and its progress —
/// the fire time its `due_work` row waits for, the run of its last fire, a buffered fire, and
/// its counters. Its snapshot's status is `active`, `paused` or `deleted`.
public struct ScheduleState: Snapshot, Equatable {
    public static let schemaVersion = 1

    /// What to do with a fire while the schedule's previous run is unfinished.
    public enum OverlapPolicy: String, Sendable, CaseIterable {
        case skip
        case bufferOne = "buffer_one"
        case allowAll = "allow_all"
        case cancelOther = "cancel_other"
    }

    /// What the caller sets: every field of the create and of a PATCH.
    public struct Settings: Sendable, Equatable {
        public var workflowID: String
        public var workflowSlug: String
        public var cron: String?
        public var everySeconds: Int64?
        public var timezone: String
        public var input: JSON
        public var metadata: JSON
        public var priority: Int
        public var overlapPolicy: OverlapPolicy
        public var catchupWindowSeconds: Int64
        public var jitterMilliseconds: Int64
        public var startAt: Timestamp?
        public var endAt: Timestamp?
        public var paused: Bool
        public var note: String?

        public init(workflowID: String, workflowSlug: String, cron: String?, everySeconds: Int64?, timezone: String = "UTC",
                    input: JSON = .object(JSONObject()), metadata: JSON = .object(JSONObject()), priority: Int = 0,
                    overlapPolicy: OverlapPolicy = .skip, catchupWindowSeconds: Int64 = 60, jitterMilliseconds: Int64 = 0,
                    startAt: Timestamp? = nil, endAt: Timestamp? = nil, paused: Bool = false, note: String? = nil) {
            self.workflowID = workflowID
            self.workflowSlug = workflowSlug
            self.cron = cron
            self.everySeconds = everySeconds
            self.timezone = timezone
            self.input = input
            self.metadata = metadata
            self.priority = priority
            self.overlapPolicy = overlapPolicy
            self.catchupWindowSeconds = catchupWindowSeconds
            self.jitterMilliseconds = jitterMilliseconds
            self.startAt = startAt
            self.endAt = endAt
            self.paused = paused
            self.note = note
        }

        /// The calendar these settings describe; nil when the cron or zone no longer parse.
        public var calendar: FireCalendar? {
            guard let zone = FireCalendar.zone(named: timezone) else { return nil }
            if let everySeconds { return FireCalendar(rule: .every(seconds: everySeconds), zone: zone, startAt: startAt, endAt: endAt) }
            guard let cron, let expression = try? CronExpression(parsing: cron) else { return nil }
            return FireCalendar(rule: .cron(expression), zone: zone, startAt: startAt, endAt: endAt)
        }
    }

    /// A run a fire started.
    public struct RecentRun: Sendable, Equatable {
        public let runID: String
        public let scheduledAt: Timestamp
        public let startedAt: Timestamp
    }

    /// The counters of `info`.
    public struct Counters: Sendable, Equatable {
        public var actionCount: Int64 = 0
        public var missedCatchupWindow: Int64 = 0
        public var overlapSkipped: Int64 = 0
        public var bufferDropped: Int64 = 0
        public var failedFires: Int64 = 0
        public var lastError: String?
    }

    /// Runs kept in `info.recent_runs`, newest last.
    static let recentRunsKept = 10

    public let workspace: String
    public internal(set) var settings: Settings
    public let createdBy: JSON
    public let createdAt: Timestamp
    public internal(set) var updatedAt: Timestamp
    public internal(set) var deleted = false
    /// The fire time (without jitter) its `due_work` row waits for; nil while paused or done.
    public internal(set) var nextFireAt: Timestamp?
    /// The run of the last fire that started one (for the overlap policy).
    public internal(set) var lastRunID: String?
    /// A fire held by `buffer_one` until the last run finishes.
    public internal(set) var bufferedFireAt: Timestamp?
    public internal(set) var counters = Counters()
    public internal(set) var recentRuns: [RecentRun] = []

    public init(workspace: String, settings: Settings, createdBy: JSON, at now: Timestamp) {
        self.workspace = workspace
        self.settings = settings
        self.createdBy = createdBy
        createdAt = now
        updatedAt = now
    }

    public var workspaceID: String? { workspace }
    public var status: String? { deleted ? "deleted" : settings.paused ? "paused" : "active" }

    /// Records a run started for `scheduledAt`.
    mutating func started(runID: String, scheduledAt: Timestamp, at now: Timestamp) {
        counters.actionCount = counters.actionCount.saturatingAdding(1)
        lastRunID = runID
        recentRuns.append(RecentRun(runID: runID, scheduledAt: scheduledAt, startedAt: now))
        if recentRuns.count > Self.recentRunsKept { recentRuns.removeFirst(recentRuns.count - Self.recentRunsKept) }
    }

    /// Records a fire that could not start its run.
    mutating func failed(_ message: String) {
        counters.failedFires = counters.failedFires.saturatingAdding(1)
        counters.lastError = message
    }

    public func encoded() -> JSON {
        func time(_ stamp: Timestamp?) -> JSON { stamp.map { .int($0.microsecondsSinceEpoch) } ?? .null }
        func text(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
        let s = settings
        return .object(JSONObject([
            ("workspace_id", .string(workspace)), ("workflow_id", .string(s.workflowID)), ("workflow_slug", .string(s.workflowSlug)),
            ("cron", text(s.cron)), ("every_s", s.everySeconds.map(JSON.int) ?? .null), ("timezone", .string(s.timezone)),
            ("input", s.input), ("metadata", s.metadata), ("priority", .int(Int64(s.priority))),
            ("overlap_policy", .string(s.overlapPolicy.rawValue)), ("catchup_window_s", .int(s.catchupWindowSeconds)),
            ("jitter_ms", .int(s.jitterMilliseconds)), ("start_at", time(s.startAt)), ("end_at", time(s.endAt)), ("paused", .bool(s.paused)),
            ("note", text(s.note)), ("created_by", createdBy), ("created_at", time(createdAt)), ("updated_at", time(updatedAt)),
            ("deleted", .bool(deleted)), ("next_fire_at", time(nextFireAt)), ("last_run_id", text(lastRunID)),
            ("buffered_fire_at", time(bufferedFireAt)),
            ("counters", .object(JSONObject([
                ("action_count", .int(counters.actionCount)), ("missed_catchup_window", .int(counters.missedCatchupWindow)),
                ("overlap_skipped", .int(counters.overlapSkipped)), ("buffer_dropped", .int(counters.bufferDropped)),
                ("failed_fires", .int(counters.failedFires)), ("last_error", text(counters.lastError)),
            ]))),
            ("recent_runs", .array(recentRuns.map { .object(JSONObject([
                ("run_id", .string($0.runID)), ("scheduled_at", time($0.scheduledAt)), ("started_at", time($0.startedAt)),
            ])) })),
        ]))
    }

    public init(decoding json: JSON, schemaVersion: Int) throws(SnapshotError) {
        guard schemaVersion == Self.schemaVersion else { throw SnapshotError("schedule snapshot version \(schemaVersion) is unknown") }
        func time(_ value: JSON?) -> Timestamp? { value?.intValue.map { Timestamp(microsecondsSinceEpoch: $0) } }
        guard let workspace = json["workspace_id"]?.stringValue, let workflowID = json["workflow_id"]?.stringValue,
            let policy = json["overlap_policy"]?.stringValue.flatMap(OverlapPolicy.init(rawValue:)), let createdAt = time(json["created_at"])
        else { throw SnapshotError("schedule snapshot lacks its workspace, workflow, overlap policy or creation time") }
        self.workspace = workspace
        settings = Settings(
            workflowID: workflowID, workflowSlug: json["workflow_slug"]?.stringValue ?? workflowID, cron: json["cron"]?.stringValue,
            everySeconds: json["every_s"]?.intValue, timezone: json["timezone"]?.stringValue ?? "UTC", input: json["input"] ?? .object(JSONObject()),
            metadata: json["metadata"] ?? .object(JSONObject()), priority: Int(clamping: json["priority"]?.intValue ?? 0), overlapPolicy: policy,
            catchupWindowSeconds: json["catchup_window_s"]?.intValue ?? 60, jitterMilliseconds: json["jitter_ms"]?.intValue ?? 0,
            startAt: time(json["start_at"]), endAt: time(json["end_at"]), paused: json["paused"] == true, note: json["note"]?.stringValue)
        guard settings.calendar != nil else { throw SnapshotError("schedule snapshot's cron or time zone does not parse") }
        createdBy = json["created_by"] ?? .null
        self.createdAt = createdAt
        updatedAt = time(json["updated_at"]) ?? createdAt
        deleted = json["deleted"] == true
        nextFireAt = time(json["next_fire_at"])
        lastRunID = json["last_run_id"]?.stringValue
        bufferedFireAt = time(json["buffered_fire_at"])
        let stored = json["counters"]
        counters = Counters(
            actionCount: stored?["action_count"]?.intValue ?? 0, missedCatchupWindow: stored?["missed_catchup_window"]?.intValue ?? 0,
            overlapSkipped: stored?["overlap_skipped"]?.intValue ?? 0, bufferDropped: stored?["buffer_dropped"]?.intValue ?? 0,
            failedFires: stored?["failed_fires"]?.intValue ?? 0, lastError: stored?["last_error"]?.stringValue)
        recentRuns = (json["recent_runs"]?.arrayValue ?? []).compactMap { run in
            guard let id = run["run_id"]?.stringValue, let scheduledAt = time(run["scheduled_at"]), let startedAt = time(run["started_at"]) else { return nil }
            return RecentRun(runID: id, scheduledAt: scheduledAt, startedAt: startedAt)
        }
    }
}
