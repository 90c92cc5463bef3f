import TroupeActors
import TroupeCore

/// The sandboxes' part of the document.
extension OpenAPIDocument {
    static var limitsSchema: JSON {
        object(SandboxLimits.fields.map { field in
            (field.name, ["type": "integer", "minimum": .int(Int64(field.range.lowerBound)), "maximum": .int(Int64(field.range.upperBound)),
                          "default": .int(Int64(field.defaultValue))])
        })
    }

    static let sandboxOperations: [Operation] = [
        Operation(method: "post", path: "/v1/sandboxes",
                  summary: "Creates a sandbox (sandboxes:write; people: members): 202, provisioning, then ready once its private directory exists (0700, under sandbox_root, by default troupe-sandboxes beside the database; the root itself is the server's, 0711, never a symbolic link). resource_limits: each field optional, defaults and ranges in the schema (422 outside them); max_output_bytes is at most 1 MiB for each of stdout and stderr; memory_mb bounds all the sandbox's processes together: where the server can make control groups (cgroup v2, else v1 memory and pids; isolation then lists cgroup) the sandbox has one, bounding its memory at memory_mb (no swap beyond it; past it the kernel kills within the sandbox), each process also limited to memory_mb of address space; elsewhere each process gets an equal share of memory_mb as address space. Either way the sandbox runs at most memory_mb / 16 processes (at most 64). Every command also gets 256 open files and a file-size limit of 64 MiB or what is left of the sandbox's disk bound, whichever is less. The disk bound: the sandbox's directory holds at most 256 MiB and 50000 entries by default (the operator's sandbox_disk_mb and sandbox_disk_entries); it is measured every 250 ms while a command runs, and a command that takes it past is stopped (its whole tree), its stderr ending with a line that says so; a later command may remove files, and can grow none while the directory is past the bound. ttl_s: 1–86400, default 3600; a sandbox past expires_at is reaped (processes killed, directory removed, terminated, reason expired). Past the plan's sandbox cap (live sandboxes of the workspace): 429 naming the cap. isolation lists what commands get here: always directory, rlimits and process_group; then user (the server runs as root: each live sandbox has its own uid, sandbox_uid_base + slot) or user_namespace (the server is not root: a user namespace of its own, that uid inside), with pid_namespace, mount_namespace, network_namespace (no network) and read_only_root (the system's directories read-only, a fresh /tmp and /dev/shm, the sandbox's directory the only writable place on disk; nothing else of the host, the database included, is there). Isolation fails closed: where this server cannot give all of that, exec and sandbox steps answer 403 forbidden naming what is missing, unless the operator set sandbox_isolation to minimal.",
                  authenticated: true, request: object([("runtime", ["type": "string", "enum": ["process"]]), ("resource_limits", limitsSchema),
                                                        ("ttl_s", ["type": "integer", "minimum": 1, "maximum": 86_400, "default": 3_600])]),
                  success: ("202", ref("Sandbox")), errors: ["400", "401", "403", "422", "429"]),
        Operation(method: "get", path: "/v1/sandboxes", summary: "The workspace's sandboxes, newest first, ended ones included (sandboxes:read; any member).",
                  authenticated: true, success: ("200", object([("data", ["type": "array", "items": ref("Sandbox")]), ("next_cursor", ["type": ["string", "null"]]),
                                                                ("has_more", ["type": "boolean"])])), errors: ["400", "401", "403", "429"]),
        Operation(method: "get", path: "/v1/sandboxes/{id}", summary: "One sandbox (sandboxes:read). Another workspace's is 404.",
                  authenticated: true, success: ("200", ref("Sandbox")), errors: ["401", "403", "404", "429"]),
        Operation(method: "post", path: "/v1/sandboxes/{id}/exec",
                  summary: "Runs argv in the sandbox and answers when it ends (sandboxes:write). One exec at a time: 409 while busy, and while it is not ready. 403 forbidden when the operator has sandbox_exec off. argv: 1–256 strings of at most 4 KiB, no NUL; a program without / is looked up in env's PATH, else /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin. env is the whole environment (names [A-Za-z_][A-Za-z0-9_]*, at most 256); nothing of the server's is passed. timeout_ms: at most, and by default, the sandbox's wall_timeout_ms; at the timeout the whole process tree is killed (timed_out: true, signal SIGKILL). stdout and stderr keep at most max_output_bytes each (truncated: true past it; the pipe is then closed, so a writer that goes on gets SIGPIPE). Nothing a command starts outlives it: when it ends, everything it left is killed. exit_code is null when a signal (its name, e.g. SIGXCPU past cpu_seconds) ended it. A program that cannot be executed is 422. 403 forbidden, naming what is missing, when full isolation cannot be had here and the operator did not choose sandbox_isolation minimal. 503 overloaded when the execs under way already hold the server's 64 MiB of output (each reserves twice its max_output_bytes while it runs). The audit entry's note is the argv as JSON, cut at 256 characters.",
                  authenticated: true, request: object([("argv", ["type": "array", "items": string, "minItems": 1, "maxItems": 256]), ("stdin", string),
                                                        ("env", ["type": "object", "additionalProperties": string]),
                                                        ("timeout_ms", ["type": "integer", "minimum": 1, "maximum": 3_600_000])], required: ["argv"]),
                  success: ("200", object([("exit_code", ["type": ["integer", "null"]]), ("signal", ["type": ["string", "null"]]), ("stdout", string),
                                           ("stderr", string), ("truncated", ["type": "boolean"]), ("timed_out", ["type": "boolean"]),
                                           ("duration_ms", ["type": "integer"])])),
                  errors: ["400", "401", "403", "404", "409", "422", "429"]),
        Operation(method: "delete", path: "/v1/sandboxes/{id}",
                  summary: "Ends the sandbox (sandboxes:write): its processes are killed and its directory removed; the 202 answer shows it terminated, reason deleted. Deleting an ended one answers it as it is.",
                  authenticated: true, success: ("202", ref("Sandbox")), errors: ["401", "403", "404", "429"]),
    ]

    static var sandboxSchema: JSON {
        object([("id", string), ("status", ["type": "string", "enum": .array(SandboxRecord.Status.allCases.map { .string($0.rawValue) })]),
                ("runtime", ["type": "string", "enum": ["process"]]), ("resource_limits", limitsSchema), ("run_id", ["type": ["string", "null"]]),
                ("isolation", ["type": "array", "items": string]), ("created_at", time), ("expires_at", time),
                ("terminated_at", ["type": ["string", "null"], "format": "date-time"]), ("reason", ["type": ["string", "null"]])],
               required: ["id", "status", "runtime", "resource_limits", "run_id", "isolation", "created_at", "expires_at", "terminated_at", "reason"])
    }
}
