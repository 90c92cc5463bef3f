import Testing
import TroupeCore

@testable import TroupeActors

@Suite(.timeLimit(.minutes(5)))
struct WorkflowParserTests {
    private func parse(_ text: String) throws -> Result<[WorkflowStep], WorkflowParser.ProblemList> {
        WorkflowParser.parse(steps: try JSON.parse(Array(text.utf8)))
    }

    private func problems(_ text: String) throws -> [WorkflowProblem] {
        guard case .failure(let list) = try parse(text) else { return [] }
        return list.problems
    }

    @Test func defaultsAreFilledIn() throws {
        let steps = try parse(#"""
            [{"id":"build","kind":"task"},{"id":"ok","kind":"approval","needs":["build"]},
             {"id":"nap","kind":"wait","duration_ms":5000,"needs":["ok"]},
             {"id":"run","kind":"sandbox","argv":["make","test"],"resource_limits":{"cpu_seconds":5},"max_attempts":1}]
            """#).get()
        #expect(steps.map(\.id) == ["build", "ok", "nap", "run"])
        #expect(steps[0].work == .task(queue: "default", input: JSONObject()))
        #expect(steps[0].timeoutMilliseconds == 600_000)
        #expect(steps[0].maxAttempts == 3)
        #expect(steps[1].work == .approval(approvers: [.owner, .admin]))
        #expect(steps[2].work == .wait(durationMilliseconds: 5000))
        #expect(steps[3].maxAttempts == 1)
        #expect(steps[3].work == .sandbox(argv: ["make", "test"], resourceLimits: JSONObject([("cpu_seconds", .int(5))])))
        // What the store keeps parses back to the same steps.
        #expect(WorkflowParser.parse(steps: .array(steps.map(\.json))) .map { $0 == steps } == .success(true))
    }

    @Test func aCycleIsNamedStepByStep() throws {
        let found = try problems(#"""
            [{"id":"a","kind":"task","needs":["c"]},{"id":"b","kind":"task","needs":["a"]},{"id":"c","kind":"task","needs":["b"]}]
            """#)
        #expect(found.map(\.field) == ["steps[0].needs"])
        #expect(found.first?.message.contains("a → c → b → a") == true, "\(found)")
        let selfLoop = try problems(#"[{"id":"a","kind":"task","needs":["a"]}]"#)
        #expect(selfLoop.first?.message.contains("a → a") == true)
    }

    @Test func everyRuleBrokenIsReportedWithItsPath() throws {
        let found = try problems(#"""
            [{"id":"a","kind":"task"},{"id":"a","kind":"task"},{"id":"b","kind":"task","needs":["a","ghost"]},
             {"id":"Bad Id","kind":"task"},{"id":"c","kind":"teleport"},{"id":"d","kind":"sandbox"},{"id":"e","kind":"wait"},
             {"id":"f","kind":"task","argv":["x"]},{"id":"g","kind":"task","max_attempts":21},
             {"id":"h","kind":"approval","approvers":["king"]},{"kind":"task"},
             {"id":"i","kind":"sandbox","argv":["x"],"resource_limits":{"gpus":1}}]
            """#)
        let fields = Set(found.map(\.field))
        #expect(fields == ["steps[1].id", "steps[2].needs[1]", "steps[3].id", "steps[4].kind", "steps[5].argv", "steps[6].duration_ms",
                           "steps[7].argv", "steps[8].max_attempts", "steps[9].approvers[0]", "steps[10].id",
                           "steps[11].resource_limits.gpus"], "\(found)")
        #expect(found.allSatisfy { !$0.isWrongType })
    }

    @Test func wrongTypesAreMarkedAsSuch() throws {
        #expect(try problems(#"{"id":"a"}"#).map(\.isWrongType) == [true])
        #expect(try problems(#"[5]"#).map(\.field) == ["steps[0]"])
        let found = try problems(#"[{"id":"a","kind":"task","needs":"b","timeout_ms":"soon","input":[1]}]"#)
        #expect(Set(found.filter(\.isWrongType).map(\.field)) == ["steps[0].needs", "steps[0].timeout_ms", "steps[0].input"])
        #expect(WorkflowParser.parse(steps: nil).map { _ in true } == .failure(WorkflowParser.ProblemList(problems: [
            WorkflowProblem(field: "steps", message: "steps is required: an array of steps.", isWrongType: false),
        ])))
    }

    @Test func limits() throws {
        let many = (0...100).map { #"{"id":"s\#($0)","kind":"task"}"# }.joined(separator: ",")
        #expect(try problems("[\(many)]").map(\.field) == ["steps"])
        #expect(try problems("[]").map(\.field) == ["steps"])
        let big = String(repeating: "x", count: 70_000)
        #expect(try problems(#"[{"id":"a","kind":"task","input":{"blob":"\#(big)"}}]"#).map(\.field) == ["steps[0].input"])
        #expect(try problems(#"[{"id":"a","kind":"wait","duration_ms":0}]"#).map(\.field) == ["steps[0].duration_ms"])
    }

    @Test func theShipFromTicketTemplateIsAValidChain() {
        let template = WorkflowTemplate.shipFromTicket
        #expect(template.steps.map(\.id) == ["orchestrator", "dev", "sre", "qa", "approval_gate"])
        #expect(template.steps.map(\.kind) == [.task, .task, .task, .task, .approval])
        #expect(template.steps.dropFirst().map(\.needs) == [["orchestrator"], ["dev"], ["sre"], ["qa"]])
        #expect(WorkflowParser.parse(steps: .array(template.steps.map(\.json))).map { $0 == template.steps } == .success(true))
    }
}

extension WorkflowParser.ProblemList: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.problems == rhs.problems }
}
