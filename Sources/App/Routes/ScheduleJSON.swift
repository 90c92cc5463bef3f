import TroupeActors
import TroupeCore

/// The API's schedule object (API.md, Schedules), with its next five fire times from now.
enum ScheduleJSON {
    static let upcomingCount = 5

    static func schedule(id: String, _ state: ScheduleState, now: Timestamp) -> JSON {
        func time(_ stamp: Timestamp?) -> JSON { stamp.map { .string($0.rfc3339) } ?? .null }
        let s = state.settings
        let upcoming = s.paused ? [] : s.calendar?.upcoming(after: now, count: upcomingCount) ?? []
        let c = state.counters
        let info = JSON.object(JSONObject([
            ("action_count", .int(c.actionCount)), ("missed_catchup_window", .int(c.missedCatchupWindow)),
            ("overlap_skipped", .int(c.overlapSkipped)), ("buffer_dropped", .int(c.bufferDropped)), ("failed_fires", .int(c.failedFires)),
            ("last_error", c.lastError.map(JSON.string) ?? .null),
            ("recent_runs", .array(state.recentRuns.reversed().map { run in
                .object(JSONObject([("run_id", .string(run.runID)), ("scheduled_at", time(run.scheduledAt)), ("started_at", time(run.startedAt))]))
            })),
        ]))
        return .object(JSONObject([
            ("id", .string(id)), ("workflow", .string(s.workflowSlug)), ("workflow_id", .string(s.workflowID)),
            ("cron", s.cron.map(JSON.string) ?? .null), ("every_s", s.everySeconds.map(JSON.int) ?? .null), ("timezone", .string(s.timezone)),
            ("input", s.input), ("metadata", s.metadata), ("priority", .int(Int64(s.priority))), ("overlap_policy", .string(s.overlapPolicy.rawValue)),
            ("catchup_window_s", .int(s.catchupWindowSeconds)), ("jitter_ms", .int(s.jitterMilliseconds)), ("start_at", time(s.startAt)),
            ("end_at", time(s.endAt)), ("paused", .bool(s.paused)), ("note", s.note.map(JSON.string) ?? .null),
            ("next_run_times", .array(upcoming.map { .string($0.rfc3339) })), ("info", info), ("created_by", state.createdBy),
            ("created_at", time(state.createdAt)), ("updated_at", time(state.updatedAt)),
        ]))
    }
}
