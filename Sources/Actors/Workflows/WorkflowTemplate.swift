import TroupeCore

/// A built-in workflow to start from (`GET /v1/workflows/templates`).
public struct WorkflowTemplate: Sendable {
    public let slug: String
    public let name: String
    public let description: String
    public let steps: [WorkflowStep]

    /// Every built-in template, in the order listed.
    public static let all: [WorkflowTemplate] = [shipFromTicket]

    public static func named(_ slug: String) -> WorkflowTemplate? { all.first { $0.slug == slug } }

    /// orchestrator → dev → sre → qa (task steps, each on its own queue) → approval_gate.
    public static let shipFromTicket: WorkflowTemplate = {
        func task(_ id: String, after previous: String?, _ instructions: String) -> WorkflowStep {
            WorkflowStep(id: id, needs: previous.map { [$0] } ?? [], timeoutMilliseconds: WorkflowStep.defaultTimeoutMilliseconds,
                         maxAttempts: WorkflowStep.defaultMaxAttempts,
                         work: .task(queue: id, input: JSONObject([("instructions", .string(instructions))])))
        }
        let gate = WorkflowStep(id: "approval_gate", needs: ["qa"], timeoutMilliseconds: nil, maxAttempts: 1,
                                work: .approval(approvers: WorkflowStep.defaultApprovers))
        return WorkflowTemplate(
            slug: "ship-from-ticket", name: "Ship from ticket",
            description: "A ticket goes from plan to code, deploy and tests, then waits for a person to approve the release.",
            steps: [
                task("orchestrator", after: nil, "Read the ticket and plan the change."),
                task("dev", after: "orchestrator", "Implement the change and open a pull request."),
                task("sre", after: "dev", "Deploy the change to the preview environment."),
                task("qa", after: "sre", "Test the preview and report."),
                gate,
            ])
    }()

    public var json: JSON {
        .object(JSONObject([
            ("slug", .string(slug)), ("name", .string(name)), ("description", .string(description)),
            ("steps", .array(steps.map(\.json))),
        ]))
    }
}
