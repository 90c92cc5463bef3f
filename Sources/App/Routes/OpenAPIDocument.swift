import TroupeActors
import TroupeCore

/// `GET /openapi.json`: an OpenAPI 3.1 description of every route built so far, with request
/// and response schemas and the error responses each can give.
enum OpenAPIDocument {
    /// One route as the document describes it.
    struct Operation {
        let method: String
        let path: String
        let summary: String
        let authenticated: Bool
        var request: JSON?
        let success: (status: String, schema: JSON?)
        var errors: [String]
        /// The success body's media type.
        var contentType = "application/json"
        /// Header and query parameters beyond the path's.
        var parameters: [JSON] = []
    }

    static func ref(_ name: String) -> JSON { ["$ref": .string("#/components/schemas/\(name)")] }
    static func object(_ properties: [(String, JSON)], required: [String] = []) -> JSON {
        ["type": "object", "properties": .object(JSONObject(properties)), "required": .array(required.map(JSON.string))]
    }
    static let string: JSON = ["type": "string"]
    private static let nullableString: JSON = ["type": ["string", "null"]]
    private static let nullableNumber: JSON = ["type": ["number", "null"], "minimum": 0]
    /// A run's budget: a cost cap up to 10^9 dollars, a whole token budget up to 10^18 (null: none).
    private static let budget = object([("max_cost_usd", ["type": ["number", "null"], "minimum": 0, "maximum": 1_000_000_000]),
                                        ("token_budget", ["type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000_000_000_000_000])])
    static let time: JSON = ["type": "string", "format": "date-time"]
    private static let limit: JSON = ["type": ["integer", "null"], "minimum": 1]
    static func list(_ item: String) -> JSON {
        object([("data", ["type": "array", "items": ref(item)]), ("next_cursor", nullableString), ("has_more", ["type": "boolean"])],
               required: ["data", "next_cursor", "has_more"])
    }

    private static let lockInput = object([("key", ["type": "string", "minLength": 1, "maxLength": 255]),
                                           ("owner", ["type": "string", "minLength": 1, "maxLength": 255]),
                                           ("ttl_ms", ["type": "integer", "minimum": 1, "maximum": 86_400_000])],
                                          required: ["key", "owner", "ttl_ms"])

    private static let operations: [Operation] = {
        let auth = ["400", "401", "403", "429", "503"]
        return [
            Operation(method: "get", path: "/healthz", summary: "Liveness", authenticated: false,
                      success: ("200", object([("status", string)])), errors: []),
            Operation(method: "get", path: "/readyz", summary: "Readiness: 503 while draining or when the database does not answer",
                      authenticated: false, success: ("200", object([("status", string)])), errors: ["503"]),
            Operation(method: "get", path: "/metrics", summary: "Prometheus metrics (text)", authenticated: false,
                      success: ("200", nil), errors: []),
            Operation(method: "get", path: "/", summary: "302 to /console", authenticated: false, success: ("302", nil), errors: []),
            Operation(method: "get", path: "/console", summary: "The web console (HTML), on the public API only; it signs in with the API and keeps the token in sessionStorage, never a cookie. Served with a strict Content-Security-Policy (no inline script, connect-src 'self', frame-ancestors 'none'), X-Content-Type-Options: nosniff, an ETag and Cache-Control: no-cache (If-None-Match answers 304)",
                      authenticated: false, success: ("200", nil), errors: []),
            Operation(method: "get", path: "/console/{file}", summary: "One of the console's files (its style sheet and ES modules), with the same headers; 404 for any other name",
                      authenticated: false, success: ("200", nil), errors: ["404"]),
            Operation(method: "get", path: "/openapi.json", summary: "This document", authenticated: false,
                      success: ("200", ["type": "object"]), errors: []),
            Operation(method: "post", path: "/v1/auth/signup",
                      summary: "Create an account and its starter workspace. Logins and signups are limited per client address before any hashing (by default 30 a minute per IP and 120 per /24 or /48, config login_address_limits): 429 with Retry-After past it; one address has at most 4 hashes under way (503).",
                      authenticated: false,
                      request: object([("email", string), ("password", ["type": "string", "minLength": 10]), ("name", string),
                                       ("workspace_name", string)], required: ["email", "password", "workspace_name"]),
                      success: ("201", object([("token", string), ("user", ref("User")), ("workspace", ref("Workspace"))])),
                      errors: ["400", "404", "409", "415", "422", "429", "503"]),
            Operation(method: "post", path: "/v1/auth/login",
                      summary: "Sign in; the token is scoped to the first workspace (someone removed from every workspace gets a new starter one, as at signup). After 10 failed logins for one email within 15 minutes, logins for it are 429 with Retry-After until the window has passed, whether or not the email exists. Logins and signups are also limited per client address before any hashing (30 a minute per IP, 120 per /24 or /48 by default; behind a trusted proxy, the address its X-Forwarded-For names): 429 with Retry-After. Passwords are hashed on at most one thread per core behind a bounded queue, of which one address holds at most 4: 503 overloaded (Retry-After) when it is full. A known email's failed login is audited after the 401 is answered.",
                      authenticated: false, request: object([("email", string), ("password", string)], required: ["email", "password"]),
                      success: ("200", object([("token", string), ("user", ref("User"))])), errors: ["400", "401", "403", "422", "429", "503"]),
            Operation(method: "get", path: "/v1/auth/me",
                      summary: "Who the caller is. For an API key, user and role are null and api_key is set.", authenticated: true,
                      success: ("200", object([("user", ["oneOf": [ref("User"), ["type": "null"]]]), ("workspace_id", string),
                                               ("role", nullableString), ("workspaces", ["type": "array"])])), errors: auth),
            Operation(method: "post", path: "/v1/workspaces",
                      summary: "Create a workspace; the caller becomes its owner. A plan outside the config's self_service_plans is 403 forbidden (the operator sets it with troupe workspace set-plan); a user owns at most max_workspaces_per_user workspaces (default 20; 429 past it, counted in the creating transaction).",
                      authenticated: true, request: object([("name", string), ("plan", ref("Plan"))], required: ["name"]),
                      success: ("201", ref("Workspace")), errors: auth + ["415", "422", "429"]),
            Operation(method: "get", path: "/v1/workspaces", summary: "The caller's workspaces", authenticated: true,
                      success: ("200", list("Workspace")), errors: auth),
            Operation(method: "get", path: "/v1/workspaces/{id}", summary: "The token's workspace (any other id is 404)",
                      authenticated: true, success: ("200", ref("Workspace")), errors: auth + ["404"]),
            Operation(method: "patch", path: "/v1/workspaces/{id}", summary: "Rename (admin) or change the plan (owner)",
                      authenticated: true, request: object([("name", string), ("plan", ref("Plan"))]),
                      success: ("200", ref("Workspace")), errors: auth + ["404", "415", "422"]),
            Operation(method: "post", path: "/v1/workspaces/{id}/switch", summary: "A token scoped to another of the caller's workspaces",
                      authenticated: true, success: ("200", object([("token", string)])), errors: auth + ["404"]),
            Operation(method: "get", path: "/v1/workspaces/{id}/members", summary: "The workspace's members (members:read for keys)",
                      authenticated: true, success: ("200", list("Member")), errors: auth + ["404"]),
            Operation(method: "post", path: "/v1/workspaces/{id}/members",
                      summary: "Invite by email (admin; owners only invite owners). The token is shown once and valid 7 days; a new invitation replaces the person's pending one. 409 if already a member.",
                      authenticated: true, request: object([("email", string), ("role", ref("Role"))], required: ["email", "role"]),
                      success: ("201", ref("Invitation")), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "patch", path: "/v1/workspaces/{id}/members/{user_id}",
                      summary: "Change a member's role (admin; only owners touch owners). The last owner cannot be demoted (409). The member's older session tokens stop working at once.",
                      authenticated: true, request: object([("role", ref("Role"))], required: ["role"]),
                      success: ("200", ref("Member")), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "delete", path: "/v1/workspaces/{id}/members/{user_id}",
                      summary: "Remove a member (admin; only owners remove owners), or leave (your own user_id). The last owner cannot go (409). Their session tokens for this workspace stop working at once.",
                      authenticated: true, success: ("204", nil), errors: auth + ["404", "409"]),
            Operation(method: "post", path: "/v1/invitations/accept",
                      summary: "Join the invitation's workspace as the signed-in person; 403 if the invitation names another email; 404 if unknown, used or expired; 409 if already a member. Switch to the workspace for a token.",
                      authenticated: true, request: object([("invite_token", string)], required: ["invite_token"]),
                      success: ("200", ref("Member")), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "post", path: "/v1/api-keys", summary: "Create an API key; raw_key is shown once", authenticated: true,
                      request: object([("name", string), ("scopes", ["type": "array", "items": ref("Scope")]), ("expires_at", time)],
                                      required: ["name", "scopes"]),
                      success: ("201", object([("api_key", ref("APIKey")), ("raw_key", string)])), errors: auth + ["415", "422"]),
            Operation(method: "get", path: "/v1/api-keys", summary: "The workspace's API keys (metadata only)", authenticated: true,
                      success: ("200", list("APIKey")), errors: auth),
            Operation(method: "get", path: "/v1/api-keys/{id}", summary: "One API key", authenticated: true,
                      success: ("200", ref("APIKey")), errors: auth + ["404"]),
            Operation(method: "post", path: "/v1/api-keys/{id}/disable", summary: "Disable a key at once", authenticated: true,
                      success: ("200", ref("APIKey")), errors: auth + ["404"]),
            Operation(method: "post", path: "/v1/api-keys/{id}/enable", summary: "Enable a disabled key", authenticated: true,
                      success: ("200", ref("APIKey")), errors: auth + ["404"]),
            Operation(method: "delete", path: "/v1/api-keys/{id}", summary: "Revoke a key at once, on every connection",
                      authenticated: true, success: ("204", nil), errors: auth + ["404"]),
            Operation(method: "post", path: "/v1/workflows",
                      summary: "Create a workflow (version 1); defaults are filled into every step. 409 if the slug is taken. A value of the wrong type inside steps is 400 naming its path; every broken rule is a 422 field error with a path such as steps[2].needs[0] (cycles are named step by step).",
                      authenticated: true, request: ref("WorkflowInput"), success: ("201", ref("Workflow")), errors: auth + ["409", "415", "422"]),
            Operation(method: "get", path: "/v1/workflows", summary: "The workspace's workflows at their current version",
                      authenticated: true, success: ("200", list("Workflow")), errors: auth),
            Operation(method: "get", path: "/v1/workflows/{id}", summary: "One workflow, by wf_ id or slug", authenticated: true,
                      success: ("200", ref("Workflow")), errors: auth + ["404"]),
            Operation(method: "put", path: "/v1/workflows/{id}",
                      summary: "Replace the steps (and name, cost cap when sent; null clears the cap) as version + 1; runs already started keep theirs. slug, if sent, must be the workflow's.",
                      authenticated: true, request: ref("WorkflowInput"), success: ("200", ref("Workflow")), errors: auth + ["404", "415", "422"]),
            Operation(method: "delete", path: "/v1/workflows/{id}", summary: "Delete (its slug is free again; existing runs are untouched)",
                      authenticated: true, success: ("204", nil), errors: auth + ["404"]),
            Operation(method: "post", path: "/v1/workflows/validate",
                      summary: "Check a definition without storing it (workflows:read): every problem, wrong types included, in errors",
                      authenticated: true, request: ref("WorkflowInput"),
                      success: ("200", object([("valid", ["type": "boolean"]),
                                               ("errors", ["type": "array", "items": object([("field", string), ("message", string)])])],
                                              required: ["valid"])), errors: auth + ["415"]),
            Operation(method: "get", path: "/v1/workflows/templates", summary: "Built-in templates", authenticated: true,
                      success: ("200", list("WorkflowTemplate")), errors: auth),
            Operation(method: "post", path: "/v1/workflows/from-template/{slug}",
                      summary: "Create a workflow from a template; slug and name default to the template's", authenticated: true,
                      request: object([("slug", string), ("name", string), ("cost_cap_usd", nullableNumber)]),
                      success: ("201", ref("Workflow")), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "post", path: "/v1/locks/acquire",
                      summary: "Acquire a lock for owner (jobs:work) with a fencing token that strictly increases per key, across restarts; the holder acquiring again keeps its token and gets the new expiry; 409 while another owner holds it",
                      authenticated: true, request: lockInput, success: ("200", ref("Lock")), errors: auth + ["409", "415", "422"]),
            Operation(method: "post", path: "/v1/locks/renew", summary: "Extend a lock the owner holds; 409 otherwise (released, expired, another owner)",
                      authenticated: true, request: lockInput, success: ("200", ref("Lock")), errors: auth + ["409", "415", "422"]),
            Operation(method: "post", path: "/v1/locks/release", summary: "Release a lock the owner holds; 409 otherwise",
                      authenticated: true, request: object([("key", string), ("owner", string)], required: ["key", "owner"]),
                      success: ("204", nil), errors: auth + ["409", "415", "422"]),
            Operation(method: "get", path: "/v1/locks", summary: "The locks held now (jobs:read)", authenticated: true,
                      success: ("200", list("Lock")), errors: auth),
            Operation(method: "post", path: "/v1/jobs", summary: "Create a standalone job (jobs:work)", authenticated: true,
                      request: object([("queue", string), ("input", ["type": "object"]), ("max_attempts", ["type": "integer", "minimum": 1, "maximum": 20]),
                                       ("timeout_ms", ["type": "integer", "minimum": 1])], required: ["queue"]),
                      success: ("201", ref("Job")), errors: auth + ["415", "422"]),
            Operation(method: "post", path: "/v1/jobs/claim",
                      summary: "Long poll (wait_ms 0-30000) for the oldest available job of queues: 200 with a fresh lease_token (shown only here), or 204",
                      authenticated: true,
                      request: object([("queues", ["type": "array", "items": string, "minItems": 1, "maxItems": 20]), ("worker_id", string),
                                       ("wait_ms", ["type": "integer", "minimum": 0, "maximum": 30_000]),
                                       ("lease_ms", ["type": "integer", "minimum": 1000, "maximum": 600_000, "default": 30_000])],
                                      required: ["queues", "worker_id"]),
                      success: ("200", ref("Job")), errors: auth + ["415", "422"]),
            Operation(method: "post", path: "/v1/jobs/{id}/heartbeat", summary: "Extend the lease; 409 if the lease was lost, is stale, or the job ended",
                      authenticated: true, request: object([("lease_token", string), ("lease_ms", ["type": "integer"])], required: ["lease_token"]),
                      success: ("200", object([("lease_expires_at", time)])), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "post", path: "/v1/jobs/{id}/complete", summary: "Complete with the current lease token; at most one completion per job (409 otherwise). A run's job and its run's next step commit together. claim_next (optional, also on fail): the terms of a claim, worker_id defaulting to this job's worker; the answer then carries next_job, the job it leased (with its lease_token) or null when none came within wait_ms: one request a step instead of two output is an object of at most 64 KiB of JSON (422 past it, 400 another type): it is copied into the run, its step.succeeded event, every stream and every webhook.",
                      authenticated: true,
                      request: object([("lease_token", string), ("output", [:]),
                                       ("usage", object([("input_tokens", ["type": "integer", "minimum": 0, "maximum": 1_000_000_000_000]),
                                                         ("output_tokens", ["type": "integer", "minimum": 0, "maximum": 1_000_000_000_000]),
                                                         ("cost_usd", ["type": "number", "minimum": 0, "maximum": 1_000_000])])),
                                       ("claim_next", claimNext)],
                                      required: ["lease_token"]),
                      success: ("200", finishedJob), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "post", path: "/v1/jobs/{id}/fail",
                      summary: "Fail the attempt: while attempts remain and retryable is not false the job is queued again with available_at set by back-off (1 s, 2 s, 4 s ... 5 min, with jitter), else dead",
                      authenticated: true,
                      request: object([("lease_token", string), ("error", object([("code", string), ("message", string)], required: ["code", "message"])),
                                       ("retryable", ["type": "boolean"]), ("claim_next", claimNext)], required: ["lease_token", "error"]),
                      success: ("200", finishedJob), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "get", path: "/v1/jobs", summary: "Jobs, newest first (?status=, ?queue=)", authenticated: true,
                      success: ("200", list("Job")), errors: auth),
            Operation(method: "get", path: "/v1/jobs/{id}", summary: "One job", authenticated: true, success: ("200", ref("Job")), errors: auth + ["404"]),
            Operation(method: "get", path: "/v1/dlq", summary: "Dead jobs", authenticated: true, success: ("200", list("Job")), errors: auth),
            Operation(method: "post", path: "/v1/dlq/{id}/retry", summary: "Queue a dead job again with its attempts reset; 409 unless dead",
                      authenticated: true, success: ("200", ref("Job")), errors: auth + ["404", "409"]),
            Operation(method: "delete", path: "/v1/dlq/{id}", summary: "Delete a dead job; 409 unless dead", authenticated: true,
                      success: ("204", nil), errors: auth + ["404", "409"]),
            Operation(method: "post", path: "/v1/runs",
                      summary: "Start a run of a workflow (slug or id; unknown: 422): 201 with the run as created, queued (planned for a dry run); it starts in the same commit, its first task steps queued as jobs, so a GET shows it running. Past the plan's active-run cap: 429 naming the cap. A sandbox step runs its argv in a fresh sandbox of the run's workspace (run_id set; listed by GET /v1/sandboxes), under the plan's sandbox cap (at the cap it waits for a free sandbox up to its timeout_ms, then fails with rate_limited). Its command gets TROUPE_RUN_ID, TROUPE_STEP_ID and TROUPE_ATTEMPT and nothing else in its environment, and its wall timeout is timeout_ms unless resource_limits names a shorter wall_timeout_ms (at most 3600000). Exit 0 succeeds with output {exit_code, stdout (first 64 KiB), stderr (last 4 KiB), truncated, duration_ms}; any other end is a failed attempt, retried after a back-off (1 s, doubling) while max_attempts allows, and the last one fails the step with error {code: sandbox_exit | sandbox_signal | sandbox_timeout | sandbox_exec_failed | sandbox_error, message, exit_code, signal, timed_out, stderr_tail, duration_ms}. With sandbox_exec off the step fails at once with code forbidden. Cancelling the run kills the command's whole process tree; after a server stop the step goes on with its next attempt (or fails with sandbox_interrupted if that was its last).",
                      authenticated: true,
                      request: object([("workflow", string), ("input", ["type": "object"]), ("ticket", ["type": "string", "maxLength": 128]),
                                       ("env", ["type": "string", "enum": ["preview", "staging", "production"]]), ("dry_run", ["type": "boolean"]),
                                       ("metadata", ["type": "object", "additionalProperties": string]),
                                       ("budget", budget)],
                                      required: ["workflow"]),
                      success: ("201", ref("Run")), errors: auth + ["415", "422"]),
            Operation(method: "get", path: "/v1/runs", summary: "Runs, newest first (?status=, ?workflow= slug or id, ?schedule_id=, ?created_after=, ?created_before=)",
                      authenticated: true, success: ("200", list("Run")), errors: auth),
            Operation(method: "get", path: "/v1/runs/{id}", summary: "One run", authenticated: true, success: ("200", ref("Run")), errors: auth + ["404"]),
            Operation(method: "get", path: "/v1/runs/{id}/lifecycle", summary: "The phases queued, running, awaiting_approval, finished",
                      authenticated: true, success: ("200", ["type": "object"]), errors: auth + ["404"]),
            Operation(method: "get", path: "/v1/runs/{id}/costs", summary: "The run's cost and tokens, step by step, as workers reported them",
                      authenticated: true,
                      success: ("200", object([("total_cost_usd", ["type": "number"]), ("steps", ["type": "array", "items": object([
                          ("step_id", string), ("input_tokens", ["type": "integer"]), ("output_tokens", ["type": "integer"]),
                          ("cost_usd", ["type": "number"])])])])), errors: auth + ["404"]),
            Operation(method: "put", path: "/v1/runs/{id}/budget",
                      summary: "Set max_cost_usd and/or token_budget (null: none; fields not sent are kept). When the run's usage passes a cap it fails with failure.code budget_exceeded, at once if it already has; a run whose last step passes it has finished.",
                      authenticated: true, request: budget,
                      success: ("200", ref("Run")), errors: auth + ["404", "415", "422"]),
            Operation(method: "post", path: "/v1/runs/{id}/approve",
                      summary: "Approve the awaiting approval steps the caller's role may (an API key acts as a member); 409 unless awaiting_approval, 403 if no step lists the role",
                      authenticated: true, request: object([("note", string)]), success: ("200", ref("Run")), errors: auth + ["404", "409", "415"]),
            Operation(method: "post", path: "/v1/runs/{id}/reject", summary: "Reject: the run fails with failure.code approval_rejected",
                      authenticated: true, request: object([("note", string)]), success: ("200", ref("Run")), errors: auth + ["404", "409", "415"]),
            Operation(method: "post", path: "/v1/runs/{id}/cancel", summary: "Cancel: running jobs are cancelled (their workers get 409); 409 if finished",
                      authenticated: true, success: ("200", ref("Run")), errors: auth + ["404", "409"]),
            Operation(method: "post", path: "/v1/runs/{id}/retry",
                      summary: "Run the failed, cancelled and skipped steps again, or from_step_id and every step after it (422 unless every step it needs succeeded); 409 unless failed or cancelled",
                      authenticated: true, request: object([("from_step_id", string)]), success: ("202", ref("Run")), errors: auth + ["404", "409", "415", "422"]),
            Operation(method: "get", path: "/v1/plans", summary: "The plans in force; null is unlimited", authenticated: false,
                      success: ("200", list("PlanLimits")), errors: []),
            Operation(method: "get", path: "/v1/usage", summary: "Usage for a period of UTC days (usage:read; from, to: dates or RFC 3339 times, default today; at most 366 days, else 422; from after to is 400): requests, runs_created, jobs_completed, input_tokens, output_tokens, cost_usd and by_workflow {slug: {runs, cost_usd}}. Read from daily roll-ups that a run's creation and a job's completion update in their own transactions (exact, kept when retention removes the runs), never by scanning runs; a job's tokens and cost count on the UTC day it completed, toward its run's workflow. Sums saturate.",
                      authenticated: true, success: ("200", ["type": "object"]), errors: auth),
        ]
    }()

    private static let components: JSON = [
        "schemas": [
            "Error": object([("error", object([("code", string), ("message", string), ("status", ["type": "integer"]),
                                               ("request_id", string), ("required_scope", string),
                                               ("field_errors", ["type": "array", "items": object([("field", string), ("message", string)])])],
                                              required: ["code", "message", "status", "request_id"]))], required: ["error"]),
            "Plan": ["type": "string", "enum": ["starter", "growth", "enterprise"]],
            "Event": eventSchema,
            "AuditEntry": auditEntrySchema,
            "AuditVerification": auditVerificationSchema,
            "Webhook": webhookSchema(withSecret: false),
            "WebhookDelivery": deliverySchema,
            "Sandbox": sandboxSchema,
            "Schedule": scheduleSchema,
            "Scope": ["type": "string", "enum": .array(Scope.allCases.map { .string($0.rawValue) })],
            "Role": ["type": "string", "enum": .array(Role.allCases.map { .string($0.rawValue) })],
            "Limits": object([("requests_per_minute", limit), ("requests_per_day", limit), ("active_runs", limit), ("sandboxes", limit), ("schedules", limit)]),
            "PlanLimits": object([("name", ref("Plan")), ("requests_per_minute", limit), ("requests_per_day", limit),
                                  ("active_runs", limit), ("sandboxes", limit), ("schedules", limit)]),
            "User": object([("id", string), ("email", string), ("name", nullableString), ("created_at", time)]),
            "Workspace": object([("id", string), ("name", string), ("plan", ref("Plan")), ("created_at", time), ("limits", ref("Limits")),
                                 ("role", ref("Role"))], required: ["id", "name", "plan"]),
            "Member": object([("user_id", string), ("email", string), ("role", ref("Role")), ("joined_at", time),
                              ("workspace_id", string)], required: ["user_id", "email", "role", "joined_at"]),
            "Invitation": object([("id", string), ("workspace_id", string), ("email", string), ("role", ref("Role")),
                                  ("invite_token", string), ("expires_at", time), ("created_at", time)],
                                 required: ["id", "email", "role", "invite_token", "expires_at"]),
            "Step": ["type": "object", "required": ["id", "kind"], "properties": [
                "id": ["type": "string", "pattern": "^[a-z0-9_-]{1,64}$"],
                "kind": ["type": "string", "enum": ["task", "approval", "sandbox", "wait"]],
                "needs": ["type": "array", "items": string],
                "timeout_ms": ["type": ["integer", "null"], "minimum": 1,
                               "description": "A task's or sandbox step's attempt limit (1 ms – 7 days, default 600000). An approval step's deadline from its start (1 s – 30 days, no default: without it the step waits until the run ends); at it an approval still awaiting fails the run with approval_timeout (failure.step_id the step), step.timed_out then run.failed, audited with the actor {type: server, id: deadline}."],
                "max_attempts": ["type": "integer", "minimum": 1, "maximum": 20, "default": 3],
                "queue": ["type": "string", "default": "default"], "input": ["type": "object"],
                "approvers": ["type": "array", "items": ref("Role")], "argv": ["type": "array", "items": string],
                "resource_limits": limitsSchema,
                "duration_ms": ["type": "integer", "minimum": 1],
            ]],
            "WorkflowInput": object([("slug", ["type": "string", "pattern": "^[a-z0-9-]{1,64}$"]), ("name", string),
                                     ("steps", ["type": "array", "items": ref("Step"), "maxItems": 100]), ("cost_cap_usd", nullableNumber),
                                     ("timeout_ms", ["type": ["integer", "null"], "minimum": 1_000, "maximum": 2_592_000_000,
                                                     "description": "Each run's deadline from its creation (deadline_at); a run unfinished then fails with run_timeout (failure.step_id null): its jobs are cancelled and its sandbox commands killed; run.timed_out then run.failed. Durable: it fires within 1 s, after a restart if it fell due meanwhile, never twice. Absent or null: none."])],
                                    required: ["steps"]),
            "Workflow": object([("id", string), ("slug", string), ("name", string), ("version", ["type": "integer"]),
                                ("steps", ["type": "array", "items": ref("Step")]), ("cost_cap_usd", nullableNumber),
                                ("timeout_ms", ["type": ["integer", "null"]]), ("created_at", time), ("updated_at", time)]),
            "WorkflowTemplate": object([("slug", string), ("name", string), ("description", string),
                                        ("steps", ["type": "array", "items": ref("Step")])]),
            "Run": object([("id", string), ("workflow", string), ("workflow_id", string), ("workflow_version", ["type": "integer"]),
                           ("status", ["type": "string", "enum": .array(RunStatus.allCases.map { .string($0.rawValue) })]),
                           ("ticket", nullableString), ("env", nullableString), ("input", ["type": "object"]), ("metadata", ["type": "object"]),
                           ("dry_run", ["type": "boolean"]), ("cost_usd", ["type": "number"]), ("usage", ["type": "object"]),
                           ("budget", ["type": "object"]), ("failure", [:]),
                           ("steps", ["type": "array", "items": object([
                               ("id", string), ("kind", string), ("status", ["type": "string", "enum": .array(StepStatus.allCases.map { .string($0.rawValue) })]),
                               ("attempts", ["type": "integer"]), ("started_at", [:]), ("finished_at", [:]), ("duration_ms", [:]),
                               ("output", [:]), ("error", [:]), ("cost_usd", ["type": "number"])])]),
                           ("created_by", ["type": "object"]), ("priority", ["type": "integer"]), ("schedule_id", nullableString),
                           ("scheduled_at", ["type": ["string", "null"], "format": "date-time"]),
                           ("deadline_at", ["type": ["string", "null"], "format": "date-time"]), ("created_at", time), ("updated_at", time)]),
            "Job": object([("id", string), ("queue", string),
                           ("status", ["type": "string", "enum": ["queued", "leased", "succeeded", "dead", "cancelled"]]),
                           ("run_id", nullableString), ("step_id", nullableString), ("input", ["type": "object"]), ("output", [:]),
                           ("error", [:]), ("usage", [:]), ("attempts", ["type": "integer"]), ("max_attempts", ["type": "integer"]),
                           ("timeout_ms", ["type": "integer"]), ("worker_id", nullableString), ("lease_token", nullableString),
                           ("lease_expires_at", ["type": ["string", "null"], "format": "date-time"]), ("available_at", time),
                           ("created_at", time), ("updated_at", time)]),
            "Lock": object([("key", string), ("owner", string), ("fencing_token", ["type": "integer"]), ("acquired_at", time),
                            ("expires_at", time)]),
            "APIKey": object([("id", string), ("name", string), ("prefix", string), ("scopes", ["type": "array", "items": ref("Scope")]),
                              ("expires_at", ["type": ["string", "null"], "format": "date-time"]), ("disabled", ["type": "boolean"]),
                              ("created_at", time), ("last_used_at", ["type": ["string", "null"], "format": "date-time"])]),
        ],
        "securitySchemes": [
            "bearer": ["type": "http", "scheme": "bearer", "description": "A session JWT or an sk_live_ API key"],
            "apiKey": ["type": "apiKey", "in": "header", "name": "X-API-Key"],
        ],
    ]

    private static let descriptions = [
        "400": "invalid_request", "401": "unauthorized, key_expired, key_revoked or key_disabled", "403": "forbidden or missing_scope",
        "404": "not_found", "409": "conflict", "415": "unsupported_media_type", "422": "validation_error (or idempotency_key_reused)",
        "429": "rate_limited (Retry-After set)", "503": "overloaded (a full queue: a workspace's mailbox, which holds at most 4,096 of its requests in flight, the database writer's or a reader's, the password hasher's, or unfinished request bodies) or draining; Retry-After set. A workspace with more than 8 requests in flight has the rest run after other workspaces' requests, so that its burst does not delay them",
    ]

    /// The routes that create something, where `Idempotency-Key` applies.
    private static let createPaths: Set = [
        "/v1/workspaces", "/v1/api-keys", "/v1/workspaces/{id}/members", "/v1/workflows", "/v1/workflows/from-template/{slug}",
        "/v1/jobs", "/v1/runs", "/v1/webhooks", "/v1/schedules", "/v1/schedules/{id}/trigger",
    ]

    private static let idempotencyKey: JSON = [
        "name": "Idempotency-Key", "in": "header", "required": false, "schema": ["type": "string", "minLength": 1, "maxLength": 255],
        "description": "Replays the first response (status and body, Idempotent-Replayed: true) to a retry with the same key from the same principal (user or API key) with the same method, target (path parameters included) and body within 24 h; anything else with the key is 422 idempotency_key_reused. Scoped to the workspace; concurrent duplicates create one resource. Authentication, the role or scope check and rate limits run before any replay; 401, 403, 429 and 5xx answers are never kept, so a retry after them runs afresh. The answer commits in the same transaction as the resource, so a retry after a crash either replays it or (when nothing was stored) runs again, never creating twice. The database keeps only the key's SHA-256; an answer showing a secret (raw_key, invite_token) is kept sealed under a key derived from the Idempotency-Key and the server's secret.",
    ]

    /// The document, serialized once.
    static let bytes: [UInt8] = {
        var paths = JSONObject()
        for operation in operations + eventOperations + auditOperations + webhookOperations + sandboxOperations + scheduleOperations {
            var entry = JSONObject([("summary", .string(operation.summary)),
                                    ("operationId", .string(operation.method + operation.path.replacingSlashes))])
            var parameters: [JSON] = ["id", "user_id", "slug", "file"].filter { operation.path.contains("{\($0)}") }.map {
                ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]]
            }
            if operation.method == "post", createPaths.contains(operation.path) { parameters.append(idempotencyKey) }
            parameters += operation.parameters
            if !parameters.isEmpty { entry["parameters"] = .array(parameters) }
            if let request = operation.request {
                entry["requestBody"] = ["required": true, "content": ["application/json": ["schema": request]]]
            }
            var responses = JSONObject()
            var success = JSONObject([("description", "Success")])
            if let schema = operation.success.schema { success["content"] = .object(JSONObject([(operation.contentType, ["schema": schema])])) }
            responses[operation.success.status] = .object(success)
            for status in operation.errors + ["500"] {
                responses[status] = ["description": .string(descriptions[status] ?? "internal_error"),
                                     "content": ["application/json": ["schema": ref("Error")]]]
            }
            entry["responses"] = .object(responses)
            entry["security"] = operation.authenticated ? [["bearer": []], ["apiKey": []]] : []
            var item = paths[operation.path]?.objectValue ?? JSONObject()
            item[operation.method] = .object(entry)
            paths[operation.path] = .object(item)
        }
        let document: JSON = [
            "openapi": "3.1.0",
            "info": ["title": "Troupe", "version": "0.1.0",
                     "description": "Self-hosted control plane for workflow runs. Lists are newest first: ?limit= (1-200) and ?cursor=."],
            "paths": .object(paths), "components": components,
        ]
        return document.bytes
    }()
}

extension String {
    fileprivate var replacingSlashes: String {
        String(map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}
