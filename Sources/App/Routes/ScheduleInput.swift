import TroupeActors
import TroupeCore

/// A schedule's fields from a request body (API.md, Schedules), each range-checked: over
/// nothing for a create (then `workflow` and one of `cron` and `every_s` are required), over a
/// schedule's settings for a PATCH (a `cron` given replaces an `every_s`, and the reverse).
struct ScheduleInput {
    let runtime: TroupeRuntime
    let workspaceID: String

    static let maxEverySeconds: Int64 = 31_536_000
    static let catchupWindow: ClosedRange<Int64> = 10...604_800
    static let maxJitterMilliseconds: Int64 = 3_600_000
    static let priority: ClosedRange<Int64> = -600...600

    /// The settings the body asks for; nil when a problem was recorded in `body` (its
    /// `finish()` then throws the 422).
    func settings(from body: inout JSONBody, over base: ScheduleState.Settings?) async throws -> ScheduleState.Settings? {
        var settings = base ?? ScheduleState.Settings(workflowID: "", workflowSlug: "", cron: nil, everySeconds: nil)
        var complete = true
        if let name = try body.string("workflow", required: base == nil, maxLength: 64) {
            if let workflow = try await runtime.workflows.workflow(workspaceID: workspaceID, idOrSlug: name) {
                settings.workflowID = workflow.id
                settings.workflowSlug = workflow.slug
            } else {
                body.problem("workflow", "No workflow \(name) exists in this workspace.")
            }
        } else if base == nil {
            complete = false
        }
        let cron = try body.string("cron", maxLength: 256)
        let every = try body.integer("every_s", in: 1...Self.maxEverySeconds)
        if body.has("cron"), body.has("every_s"), !(body.raw("cron")?.isNull ?? true), !(body.raw("every_s")?.isNull ?? true) {
            body.problem("cron", "Give exactly one of cron and every_s.")
        } else if let cron {
            do {
                _ = try CronExpression(parsing: cron)
                settings.cron = cron
                settings.everySeconds = nil
            } catch {
                body.problem("cron", "cron: \(error.message)")
            }
        } else if let every {
            settings.everySeconds = every
            settings.cron = nil
        } else if base == nil, !body.has("every_s") {
            body.problem("cron", "Give exactly one of cron and every_s.")
        }
        if let zone = try body.string("timezone", maxLength: 64) {
            if FireCalendar.zone(named: zone) == nil {
                body.problem("timezone", "timezone must be an IANA time zone name such as Europe/Berlin or UTC.")
            } else {
                settings.timezone = zone
            }
        }
        if body.has("input") {
            let input = try RunRoutes.object(body.raw("input"), field: "input")
            if input.bytes.count > WorkflowParser.maxInputBytes { body.problem("input", "input must be at most 64 KiB of JSON.") }
            settings.input = input
        }
        if body.has("metadata") {
            let metadata = try RunRoutes.object(body.raw("metadata"), field: "metadata")
            if metadata.bytes.count > RunRoutes.maxMetadataBytes { body.problem("metadata", "metadata must be at most 16 KiB.") }
            for member in metadata.objectValue ?? JSONObject() where member.value.stringValue == nil {
                body.problem("metadata.\(member.key)", "metadata values must be strings.")
            }
            settings.metadata = metadata
        }
        if let priority = try body.integer("priority", in: Self.priority) { settings.priority = Int(priority) }
        if let policy = try body.choice("overlap_policy", as: ScheduleState.OverlapPolicy.self) { settings.overlapPolicy = policy }
        if let window = try body.integer("catchup_window_s", in: Self.catchupWindow) { settings.catchupWindowSeconds = window }
        if let jitter = try body.integer("jitter_ms", in: 0...Self.maxJitterMilliseconds) { settings.jitterMilliseconds = jitter }
        if body.has("start_at") { settings.startAt = try body.timestamp("start_at") }
        if body.has("end_at") { settings.endAt = try body.timestamp("end_at") }
        if let start = settings.startAt, let end = settings.endAt, end <= start {
            body.problem("end_at", "end_at must be after start_at.")
        }
        if let paused = body.raw("paused"), !paused.isNull {
            guard paused == true || paused == false else { throw APIError(.invalidRequest, "paused must be a boolean.") }
            settings.paused = paused == true
        }
        if body.has("note") { settings.note = try body.string("note", maxLength: 1024) }
        return complete ? settings : nil
    }
}
