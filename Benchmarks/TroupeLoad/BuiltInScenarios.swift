/// The scenarios `troupe-bench load --scenario NAME` knows by name. Each is also a file in
/// Benchmarks/scenarios/ (a test keeps the two the same), to copy and change.
public enum BuiltInScenarios {
    public static let all: [String: String] = [
        "mixed": #"""
            {
              "name": "mixed",
              "workflows": [
                {"slug": "build", "steps": [{"id": "build", "kind": "task", "queue": "build"}, {"id": "ship", "kind": "task", "queue": "build", "needs": ["build"]}]},
                {"slug": "release", "steps": [{"id": "gate", "kind": "approval", "approvers": ["member"]}]}
              ],
              "classes": [
                {
                  "name": "teams", "workspaces": 10, "plan": "growth", "keys": 2, "workers": 2, "queues": ["build"],
                  "mix": [
                    {"op": "get_run", "weight": 6}, {"op": "list_runs", "limit": 20, "weight": 2}, {"op": "create_run", "workflow": "build", "weight": 2},
                    {"op": "create_run", "workflow": "release", "weight": 1}, {"op": "approve", "note": "load test", "weight": 1}
                  ],
                  "phases": [
                    {"kind": "ramp", "from": 10, "to": 50, "seconds": 5},
                    {"kind": "steady", "rate": 50, "seconds": 20},
                    {"kind": "spike", "rate": 150, "seconds": 5}
                  ]
                }
              ]
            }
            """#,
        "noisy-neighbour": #"""
            {
              "name": "noisy-neighbour",
              "workflows": [{"slug": "one", "steps": [{"id": "work", "kind": "task", "queue": "work"}]}],
              "classes": [
                {
                  "name": "quiet", "workspaces": 50, "plan": "growth",
                  "mix": [{"op": "get_run", "weight": 4}, {"op": "create_run", "workflow": "one", "weight": 1}],
                  "phases": [{"kind": "steady", "rate": 2, "seconds": 20}]
                },
                {
                  "name": "noisy", "workspaces": 1, "plan": "enterprise", "keys": 4,
                  "mix": [{"op": "create_run", "workflow": "one"}],
                  "connections": 64
                }
              ]
            }
            """#,
        "workers": #"""
            {
              "name": "workers",
              "workflows": [
                {"slug": "pipeline", "steps": [
                  {"id": "a", "kind": "task", "queue": "pipeline"},
                  {"id": "b", "kind": "task", "queue": "pipeline", "needs": ["a"]},
                  {"id": "c", "kind": "task", "queue": "pipeline", "needs": ["b"]}
                ]}
              ],
              "classes": [
                {
                  "name": "teams", "workspaces": 4, "plan": "enterprise", "workers": 8, "queues": ["pipeline"],
                  "mix": [{"op": "create_run", "workflow": "pipeline"}, {"op": "get_run", "weight": 2}],
                  "phases": [{"kind": "steady", "rate": 60, "seconds": 20}]
                }
              ]
            }
            """#,
        "streams": #"""
            {
              "name": "streams",
              "workflows": [{"slug": "one", "steps": [{"id": "work", "kind": "task", "queue": "work"}]}],
              "classes": [
                {
                  "name": "watched", "workspaces": 10, "plan": "enterprise", "subscribers": 50,
                  "mix": [{"op": "create_run", "workflow": "one"}],
                  "phases": [{"kind": "steady", "rate": 10, "seconds": 20}]
                }
              ]
            }
            """#,
        "get-run-closed": #"""
            {
              "name": "get-run-closed",
              "mode": "closed", "connections": 64, "seconds": 10,
              "workflows": [{"slug": "one", "steps": [{"id": "work", "kind": "task", "queue": "work"}]}],
              "classes": [{"name": "reader", "workspaces": 1, "plan": "enterprise", "mix": [{"op": "get_run"}]}]
            }
            """#,
        "schedules": #"""
            {
              "name": "schedules",
              "workflows": [{"slug": "tick", "steps": [{"id": "nap", "kind": "wait", "duration_ms": 100}]}],
              "classes": [
                {
                  "name": "calendars", "workspaces": 10, "plan": "enterprise",
                  "schedules": [{"workflow": "tick", "every_s": 1, "count": 100}],
                  "mix": [{"op": "list_runs", "limit": 1}],
                  "phases": [{"kind": "steady", "rate": 1, "seconds": 60}]
                }
              ]
            }
            """#,
        "deadlines": #"""
            {
              "name": "deadlines",
              "workflows": [
                {"slug": "gate", "steps": [{"id": "gate", "kind": "approval", "timeout_ms": 2000}]},
                {"slug": "stall", "timeout_ms": 2000, "steps": [{"id": "work", "kind": "task", "queue": "nobody"}]}
              ],
              "classes": [
                {
                  "name": "waiting", "workspaces": 10, "plan": "enterprise",
                  "mix": [{"op": "create_run", "workflow": "gate"}, {"op": "create_run", "workflow": "stall"}],
                  "phases": [{"kind": "steady", "rate": 20, "seconds": 30}]
                }
              ]
            }
            """#,
    ]
}
