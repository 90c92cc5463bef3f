import TroupeCore
import TroupeTransport

/// Makes what a scenario needs through the API, and nothing else: per workspace a signup (its
/// own user and `starter` workspace), its plan, its API keys, the scenario's workflows, its
/// class's schedules, and a seed run of the first workflow when its mix reads runs. It removes nothing: what a run
/// made stays for inspection (a temporary in-process server goes with its database).
public struct LoadProvisioner: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let api: LoadAPI

    public init(client: HTTPClient, host: String, port: Int) {
        api = LoadAPI(client: client, host: host, port: port)
    }

    /// The workspaces of every class, in order.
    public func provision(_ scenario: Scenario, runTag: String) async throws -> [LoadWorkspace] {
        var made: [LoadWorkspace] = []
        for group in scenario.classes {
            for index in 0..<group.workspaces {
                made.append(try await workspace(group, index: index, scenario: scenario, runTag: runTag, seed: UInt64(made.count + 1)))
            }
        }
        return made
    }

    private func workspace(_ group: Scenario.WorkspaceClass, index: Int, scenario: Scenario, runTag: String, seed: UInt64) async throws -> LoadWorkspace {
        let email = "load-\(runTag)-\(group.name)-\(index)@example.com"
        let signup = try await send("POST", "/v1/auth/signup", token: nil, [
            ("email", .string(email)), ("password", "troupe load password"), ("workspace_name", .string("load \(group.name) \(index)")),
        ])
        guard let token = signup["token"]?.stringValue, let id = signup["workspace"]?["id"]?.stringValue else {
            throw Failure(description: "signup answered without a token and workspace")
        }
        if group.plan != "starter" { _ = try await send("PATCH", "/v1/workspaces/\(id)", token: token, [("plan", .string(group.plan))]) }
        for workflow in scenario.workflows {
            _ = try await send("POST", "/v1/workflows", token: token, [("slug", .string(workflow.slug)), ("name", .string(workflow.slug)),
                                                                         ("steps", workflow.steps)]
                               + (workflow.timeoutMilliseconds.map { [("timeout_ms", JSON.int(Int64($0)))] } ?? []))
        }
        for schedule in group.schedules {
            for _ in 0..<schedule.count {
                let rule: (String, JSON) = schedule.cron.map { ("cron", .string($0)) } ?? ("every_s", .int(Int64(schedule.everySeconds ?? 60)))
                _ = try await send("POST", "/v1/schedules", token: token, [("workflow", .string(schedule.workflow)), rule,
                                                                             ("overlap_policy", .string(schedule.overlapPolicy))])
            }
        }
        var keys: [String] = []
        for number in 0..<group.keys {
            let created = try await send("POST", "/v1/api-keys", token: token, [
                ("name", .string("load \(runTag) \(number)")),
                ("scopes", ["runs:read", "runs:write", "workflows:read", "jobs:read", "jobs:work", "events:read", "schedules:read"]),
            ])
            guard let key = created["raw_key"]?.stringValue else { throw Failure(description: "POST /v1/api-keys answered without raw_key") }
            keys.append(key)
        }
        var seedRun: String?
        if let first = scenario.workflows.first, group.mix.contains(where: { $0.kind == .getRun }) {
            seedRun = try await send("POST", "/v1/runs", token: token, [("workflow", .string(first.slug))])["id"]?.stringValue
        }
        return LoadWorkspace(id: id, workspaceClass: group, keys: keys, seedRun: seedRun, seed: seed)
    }

    private func send(_ method: String, _ target: String, token: String?, _ fields: [(String, JSON)]) async throws -> JSON {
        try await api.send(method, target, token: token, body: .object(JSONObject(fields)), during: "provisioning")
    }
}
