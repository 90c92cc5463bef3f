import TroupeActors
import TroupeCore

/// The schedules' part of the document.
extension OpenAPIDocument {
    private static let scheduleFields: [(String, JSON)] = [
        ("workflow", ["type": "string", "description": "slug or id"]),
        ("cron", ["type": ["string", "null"], "description": "Five fields (minute hour day-of-month month day-of-week): *, numbers, a-b, lists, */n, a-b/n, month and day names, day-of-week 0 or 7 for Sunday; when both day fields are restricted (neither starts with *) a day matching either fires (Vixie cron); or @hourly, @daily, @weekly, @monthly, @yearly. Anything else is 422 naming the cron field and the part."]),
        ("every_s", ["type": ["integer", "null"], "minimum": 1, "maximum": 31_536_000, "description": "Fires every every_s seconds counted from start_at, or from the Unix epoch when there is none."]),
        ("timezone", ["type": "string", "default": "UTC", "description": "An IANA name. A local time a daylight-saving change skips fires at the first instant after the gap; a repeated one fires once, at its first occurrence."]),
        ("input", ["type": "object"]), ("metadata", ["type": "object", "additionalProperties": ["type": "string"]]),
        ("priority", ["type": "integer", "minimum": -600, "maximum": 600, "default": 0]),
        ("overlap_policy", ["type": "string", "enum": .array(ScheduleState.OverlapPolicy.allCases.map { .string($0.rawValue) }), "default": "skip"]),
        ("catchup_window_s", ["type": "integer", "minimum": 10, "maximum": 604_800, "default": 60]),
        ("jitter_ms", ["type": "integer", "minimum": 0, "maximum": 3_600_000, "default": 0]),
        ("start_at", ["type": ["string", "null"], "format": "date-time"]), ("end_at", ["type": ["string", "null"], "format": "date-time"]),
        ("paused", ["type": "boolean", "default": false]), ("note", ["type": ["string", "null"], "maxLength": 1024]),
    ]

    static let scheduleSchema = object(scheduleFields.filter { $0.0 != "workflow" } + [
        ("id", string), ("workflow", string), ("workflow_id", string),
        ("next_run_times", ["type": "array", "items": time, "maxItems": 5]),
        ("info", object([("action_count", ["type": "integer"]), ("missed_catchup_window", ["type": "integer"]),
                         ("overlap_skipped", ["type": "integer"]), ("buffer_dropped", ["type": "integer"]), ("failed_fires", ["type": "integer"]),
                         ("last_error", ["type": ["string", "null"]]),
                         ("recent_runs", ["type": "array", "items": object([("run_id", string), ("scheduled_at", time), ("started_at", time)])])])),
        ("created_by", ["type": "object"]), ("created_at", time), ("updated_at", time),
    ])

    static let scheduleOperations: [Operation] = [
        Operation(method: "post", path: "/v1/schedules",
                  summary: "Creates a schedule (schedules:write; people: members): exactly one of cron and every_s. Past the plan's schedule cap: 429 naming it. Each fire time starts at most one run, exactly once across crashes (the run and the schedule's progress commit together), within 1 s of the time plus its jitter (a deterministic offset in 0..jitter_ms per fire). The run gets the schedule's input, metadata and priority, schedule_id, scheduled_at (the fire time without jitter) and created_by {type: schedule, id}; its audit entry run.created names the schedule as actor. A fire refused by the active-run cap or a deleted workflow counts in failed_fires with last_error. Overlap with the previous run unfinished: skip counts overlap_skipped; buffer_one holds one fire and starts it when that run finishes (more count in buffer_dropped); allow_all starts it; cancel_other cancels the previous run and starts it. Fire times missed while the server was down fire once, as one run for the latest, if it is less than catchup_window_s late; the others count in missed_catchup_window.",
                  authenticated: true, request: object(scheduleFields, required: ["workflow"]), success: ("201", ref("Schedule")),
                  errors: ["400", "401", "403", "415", "422", "429"]),
        Operation(method: "get", path: "/v1/schedules", summary: "The workspace's schedules, newest first (schedules:read; people: viewers and above).",
                  authenticated: true, success: ("200", list("Schedule")), errors: ["400", "401", "403", "429"]),
        Operation(method: "get", path: "/v1/schedules/{id}", summary: "One schedule; next_run_times lists its next 5 fire times after both now and start_at (none while paused or past end_at).",
                  authenticated: true, success: ("200", ref("Schedule")), errors: ["401", "403", "404", "429"]),
        Operation(method: "patch", path: "/v1/schedules/{id}", summary: "Changes any field of the create (a cron given replaces an every_s and the reverse); fire times are recomputed from now.",
                  authenticated: true, request: object(scheduleFields), success: ("200", ref("Schedule")), errors: ["400", "401", "403", "404", "415", "422", "429"]),
        Operation(method: "post", path: "/v1/schedules/{id}/pause", summary: "Pauses the schedule (a note, when given, replaces its note); fire times that pass while paused are never fired, and a buffered fire is dropped.",
                  authenticated: true, request: object([("note", ["type": "string", "maxLength": 1024])]), success: ("200", ref("Schedule")),
                  errors: ["400", "401", "403", "404", "415", "422", "429"]),
        Operation(method: "post", path: "/v1/schedules/{id}/unpause", summary: "Unpauses the schedule: its next fire is the first fire time after now.",
                  authenticated: true, success: ("200", ref("Schedule")), errors: ["401", "403", "404", "429"]),
        Operation(method: "post", path: "/v1/schedules/{id}/trigger", summary: "Starts a run now, as a fire (scheduled_at now, created_by the schedule), under the given overlap_policy or the schedule's; 409 when that policy does not start it (skip or buffer_one with the previous run unfinished) or the workflow is gone; 429 at the active-run cap. The schedule's next fire is unchanged.",
                  authenticated: true, request: object([("overlap_policy", ["type": "string", "enum": .array(ScheduleState.OverlapPolicy.allCases.map { .string($0.rawValue) })])]),
                  success: ("201", ref("Run")), errors: ["400", "401", "403", "404", "409", "415", "422", "429"]),
        Operation(method: "delete", path: "/v1/schedules/{id}", summary: "Deletes the schedule; its runs are untouched.",
                  authenticated: true, success: ("204", nil), errors: ["401", "403", "404", "429"]),
    ]
}
