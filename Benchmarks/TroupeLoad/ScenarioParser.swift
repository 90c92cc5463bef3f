import TroupeCore

/// Turns a scenario file (JSON) into a ``Scenario``, or says everything wrong with it at once,
/// each problem with the field it is at (`classes[1].phases[0].rate`) and what is wanted there.
public struct ScenarioParser {
    /// A wrong field and what it should be.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let message: String
        public var description: String { "\(field): \(message)" }
    }

    public static let maxSeconds = 3_600.0
    public static let maxRate = 100_000.0
    private static let plans = ["starter", "growth", "enterprise"]
    private static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    private var problems: [Problem] = []

    /// Every problem of a scenario that did not parse.
    public struct Problems: Error, Sendable, Equatable {
        public let problems: [Problem]
    }

    /// The scenario in `bytes`, or its problems (never none).
    public static func parse(_ bytes: [UInt8]) -> Result<Scenario, Problems> {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            return .failure(Problems(problems: [Problem(field: "(file)", message: "is not JSON: \(error)")]))
        }
        var parser = ScenarioParser()
        let scenario = parser.scenario(json)
        if let scenario, parser.problems.isEmpty { return .success(scenario) }
        return .failure(Problems(problems: parser.problems.isEmpty ? [Problem(field: "(file)", message: "is not a scenario")] : parser.problems))
    }

    private mutating func problem(_ field: String, _ message: String) {
        problems.append(Problem(field: field, message: message))
    }

    /// The object at `path`, its unknown keys reported.
    private mutating func object(_ json: JSON?, at path: String, allowed: [String]) -> JSONObject? {
        guard let object = json?.objectValue else {
            problem(path.isEmpty ? "(file)" : path, "must be an object.")
            return nil
        }
        for key in object.keys where !allowed.contains(key) {
            problem(path.isEmpty ? key : "\(path).\(key)", "is not a field here; the fields are \(allowed.joined(separator: ", ")).")
        }
        return object
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func string(_ object: JSONObject, _ key: String, at path: String, default fallback: String? = nil,
                                 oneOf choices: [String]? = nil) -> String? {
        guard let value = object[key] else {
            if fallback == nil { problem(join(path, key), "is required.") }
            return fallback
        }
        guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 4096 else {
            problem(join(path, key), "must be a string of 1 to 4096 bytes.")
            return nil
        }
        if let choices, !choices.contains(text) {
            problem(join(path, key), "must be one of \(choices.joined(separator: ", ")); it is \(text).")
            return nil
        }
        return text
    }

    private mutating func integer(_ object: JSONObject, _ key: String, at path: String, in range: ClosedRange<Int>, default fallback: Int?) -> Int? {
        guard let value = object[key] else {
            if fallback == nil { problem(join(path, key), "is required: an integer from \(range.lowerBound) to \(range.upperBound).") }
            return fallback
        }
        guard let number = value.intValue.flatMap({ Int(exactly: $0) }), range.contains(number) else {
            problem(join(path, key), "must be an integer from \(range.lowerBound) to \(range.upperBound).")
            return nil
        }
        return number
    }

    private mutating func number(_ object: JSONObject, _ key: String, at path: String, zeroAllowed: Bool, upTo high: Double) -> Double? {
        let wanted = zeroAllowed ? "a number from 0 to \(high)" : "a number above 0, at most \(high)"
        guard let value = object[key] else {
            problem(join(path, key), "is required: \(wanted).")
            return nil
        }
        guard let number = value.doubleValue, number.isFinite, zeroAllowed ? number >= 0 : number > 0, number <= high else {
            problem(join(path, key), "must be \(wanted).")
            return nil
        }
        return number
    }

    private mutating func array(_ object: JSONObject, _ key: String, at path: String, count range: ClosedRange<Int>, required: Bool = true) -> [JSON]? {
        guard let value = object[key] else {
            if required { problem(join(path, key), "is required: an array of \(range.lowerBound) to \(range.upperBound).") }
            return nil
        }
        guard let elements = value.arrayValue, range.contains(elements.count) else {
            problem(join(path, key), "must be an array of \(range.lowerBound) to \(range.upperBound) elements.")
            return nil
        }
        return elements
    }

    private mutating func scenario(_ json: JSON) -> Scenario? {
        guard let root = object(json, at: "", allowed: ["name", "mode", "arrival", "connections", "seconds", "workflows", "classes"]) else {
            return nil
        }
        let name = string(root, "name", at: "")
        let modeName = string(root, "mode", at: "", default: "open", oneOf: ["open", "closed"])
        let arrival = string(root, "arrival", at: "", default: "constant", oneOf: ["constant", "poisson"])
        var mode = Scenario.Mode.open(arrival.flatMap(ArrivalSchedule.Process.init(rawValue:)) ?? .constant)
        var seconds = 0.0
        if modeName == "closed" {
            if root["arrival"] != nil { problem("arrival", "is for the open mode; a closed loop sends when answered.") }
            mode = .closed(connections: integer(root, "connections", at: "", in: 1...4_096, default: nil) ?? 1)
            seconds = number(root, "seconds", at: "", zeroAllowed: false, upTo: Self.maxSeconds) ?? 0
        } else {
            for key in ["connections", "seconds"] where root[key] != nil {
                problem(key, "is for the closed mode; an open run lasts as long as its classes' phases.")
            }
        }
        let workflows = (array(root, "workflows", at: "", count: 0...20, required: false) ?? []).enumerated().compactMap { index, element in
            workflow(element, at: "workflows[\(index)]")
        }
        var slugs = Set<String>()
        for (index, workflow) in workflows.enumerated() where !slugs.insert(workflow.slug).inserted {
            problem("workflows[\(index)].slug", "\(workflow.slug) is named twice.")
        }
        let open = modeName != "closed"
        let approvable = Set(workflows.filter { $0.steps.arrayValue?.contains { $0["kind"] == "approval" } == true }.map(\.slug))
        let classes = (array(root, "classes", at: "", count: 1...20) ?? []).enumerated().compactMap { index, element in
            workspaceClass(element, at: "classes[\(index)]", open: open, workflows: slugs, approvable: approvable)
        }
        var names = Set<String>()
        for (index, group) in classes.enumerated() where !names.insert(group.name).inserted {
            problem("classes[\(index)].name", "\(group.name) is named twice.")
        }
        if open {
            seconds = classes.map { $0.phases.reduce(0) { $0 + $1.seconds } }.max() ?? 0
            if seconds == 0, !classes.isEmpty, problems.isEmpty {
                problem("classes", "an open scenario lasts as long as its classes' phases: at least one class needs phases.")
            }
        }
        guard let name else { return nil }
        return Scenario(name: name, mode: mode, seconds: seconds, workflows: workflows, classes: classes)
    }

    private mutating func workflow(_ json: JSON, at path: String) -> Scenario.Workflow? {
        guard let object = object(json, at: path, allowed: ["slug", "steps", "timeout_ms"]) else { return nil }
        let slug = string(object, "slug", at: path)
        if let slug, !slug.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }) || slug.utf8.count > 64 {
            problem("\(path).slug", "must be 1 to 64 characters of a-z, 0-9 and -.")
        }
        let steps = array(object, "steps", at: path, count: 1...100)
        let timeout = object["timeout_ms"] == nil ? nil : integer(object, "timeout_ms", at: path, in: 1_000...2_592_000_000, default: nil)
        guard let slug, let steps else { return nil }
        return Scenario.Workflow(slug: slug, steps: .array(steps), timeoutMilliseconds: timeout)
    }

    private mutating func workspaceClass(_ json: JSON, at path: String, open: Bool, workflows: Set<String>,
                                         approvable: Set<String>) -> Scenario.WorkspaceClass? {
        let fields = ["name", "workspaces", "plan", "keys", "mix", "phases", "connections", "workers", "queues", "subscribers", "schedules"]
        guard let object = object(json, at: path, allowed: fields) else { return nil }
        let before = problems.count
        let name = string(object, "name", at: path)
        let workspaces = integer(object, "workspaces", at: path, in: 1...1_000, default: 1)
        let plan = string(object, "plan", at: path, default: "starter", oneOf: Self.plans)
        let keys = integer(object, "keys", at: path, in: 1...16, default: 1)
        let workers = integer(object, "workers", at: path, in: 0...256, default: 0) ?? 0
        let subscribers = integer(object, "subscribers", at: path, in: 0...10_000, default: 0) ?? 0
        let queues = (array(object, "queues", at: path, count: 1...16, required: false) ?? [.string("default")]).enumerated().compactMap { index, value -> String? in
            guard let queue = value.stringValue, (1...64).contains(queue.utf8.count) else {
                problem("\(path).queues[\(index)]", "must be a queue name of 1 to 64 characters.")
                return nil
            }
            return queue
        }
        let mix = (array(object, "mix", at: path, count: 0...16, required: workers == 0 && subscribers == 0) ?? []).enumerated().compactMap { index, element in
            operation(element, at: "\(path).mix[\(index)]", workflows: workflows, approvable: approvable)
        }
        let creates = mix.contains { if case .createRun(_, _, true) = $0.kind { true } else { false } }
        if let index = mix.firstIndex(where: { if case .approve = $0.kind { true } else { false } }), !creates {
            problem("\(path).mix[\(index)]", "approve approves runs its workspace created: the mix needs a create_run of a workflow with an approval step.")
        }
        if workers == 0, subscribers == 0, object["mix"]?.arrayValue?.isEmpty == true {
            problem("\(path).mix", "must hold at least one request when the class has no workers or subscribers.")
        }
        var phases: [LoadPhase] = []
        var connections: Int?
        if !open {
            for key in ["phases", "connections"] where object[key] != nil {
                problem("\(path).\(key)", "is for the open mode; a closed scenario's connections run for its seconds.")
            }
        } else if object["connections"] != nil {
            connections = integer(object, "connections", at: path, in: 1...4_096, default: nil)
            if object["phases"] != nil { problem("\(path).phases", "is for a class without connections: one sends at its rate, the other as fast as it is answered.") }
        } else if !mix.isEmpty || object["phases"] != nil {
            phases = (array(object, "phases", at: path, count: 1...20) ?? []).enumerated().compactMap { index, element in
                phase(element, at: "\(path).phases[\(index)]")
            }
            if phases.reduce(0, { $0 + $1.seconds }) > Self.maxSeconds { problem("\(path).phases", "must last at most \(Int(Self.maxSeconds)) seconds in all.") }
        }
        let schedules = (array(object, "schedules", at: path, count: 1...20, required: false) ?? []).enumerated().compactMap { index, element in
            schedule(element, at: "\(path).schedules[\(index)]", workflows: workflows)
        }
        guard problems.count == before, let name, let workspaces, let plan, let keys else { return nil }
        return Scenario.WorkspaceClass(name: name, workspaces: workspaces, plan: plan, keys: keys, mix: mix, phases: phases,
                                       connections: connections, workers: workers, queues: queues, subscribers: subscribers,
                                       schedules: schedules)
    }

    /// `{workflow, every_s | cron, count?, overlap_policy?}`.
    private mutating func schedule(_ json: JSON, at path: String, workflows: Set<String>) -> Scenario.Schedule? {
        guard let object = object(json, at: path, allowed: ["workflow", "every_s", "cron", "count", "overlap_policy"]) else { return nil }
        let before = problems.count
        let workflow = string(object, "workflow", at: path)
        if let workflow, !workflows.contains(workflow) { problem("\(path).workflow", "\(workflow) is not one of the scenario's workflows.") }
        let every = object["every_s"] == nil ? nil : integer(object, "every_s", at: path, in: 1...86_400, default: nil)
        let cron = object["cron"] == nil ? nil : string(object, "cron", at: path)
        if (object["every_s"] == nil) == (object["cron"] == nil) { problem(path, "give exactly one of every_s and cron.") }
        let count = integer(object, "count", at: path, in: 1...1_000, default: 1)
        let policy = string(object, "overlap_policy", at: path, default: "allow_all", oneOf: ["skip", "buffer_one", "allow_all", "cancel_other"])
        guard problems.count == before, let workflow, let count, let policy else { return nil }
        return Scenario.Schedule(workflow: workflow, everySeconds: every, cron: cron, count: count, overlapPolicy: policy)
    }

    private mutating func operation(_ json: JSON, at path: String, workflows: Set<String>, approvable: Set<String>) -> Scenario.Operation? {
        let kinds = ["create_run", "get_run", "list_runs", "approve", "raw"]
        guard let kindName = json.objectValue?["op"]?.stringValue else {
            problem("\(path).op", "is required: one of \(kinds.joined(separator: ", ")).")
            return nil
        }
        let allowed: [String: [String]] = ["create_run": ["workflow", "input"], "get_run": [], "list_runs": ["limit"], "approve": ["note"], "raw": ["method", "path", "body"]]
        guard let extra = allowed[kindName] else {
            problem("\(path).op", "must be one of \(kinds.joined(separator: ", ")); it is \(kindName).")
            return nil
        }
        guard let object = object(json, at: path, allowed: ["op", "weight"] + extra) else { return nil }
        let weight = integer(object, "weight", at: path, in: 1...1_000, default: 1)
        let kind: Scenario.Operation.Kind?
        switch kindName {
        case "create_run":
            let workflow = string(object, "workflow", at: path)
            if let workflow, !workflows.contains(workflow) { problem("\(path).workflow", "\(workflow) is not one of the scenario's workflows.") }
            let input = object["input"] ?? .object(JSONObject())
            if input.objectValue == nil { problem("\(path).input", "must be an object.") }
            kind = workflow.map { .createRun(workflow: $0, input: input, approvable: approvable.contains($0)) }
        case "get_run":
            kind = .getRun
        case "list_runs":
            kind = integer(object, "limit", at: path, in: 1...100, default: 20).map { .listRuns(limit: $0) }
        case "approve":
            kind = .approve(note: object["note"] == nil ? nil : string(object, "note", at: path))
        default:
            let method = string(object, "method", at: path, default: "GET", oneOf: Self.methods)
            let target = string(object, "path", at: path)
            if let target, !target.hasPrefix("/") { problem("\(path).path", "must start with /.") }
            var body: String?
            if let given = object["body"] {
                if let text = given.stringValue { body = text } else if given.objectValue != nil || given.arrayValue != nil { body = given.text } else {
                    problem("\(path).body", "must be a string or JSON (an object or an array).")
                }
            }
            kind = method.flatMap { method in target.map { .raw(method: method, path: $0, body: body) } }
        }
        guard let kind, let weight else { return nil }
        return Scenario.Operation(kind: kind, weight: weight)
    }

    private mutating func phase(_ json: JSON, at path: String) -> LoadPhase? {
        guard let kindName = json.objectValue?["kind"]?.stringValue, let kind = LoadPhase.Kind(rawValue: kindName) else {
            problem("\(path).kind", "is required: one of ramp, steady, spike.")
            return nil
        }
        guard let object = object(json, at: path, allowed: kind == .ramp ? ["kind", "from", "to", "seconds"] : ["kind", "rate", "seconds"]) else {
            return nil
        }
        let seconds = number(object, "seconds", at: path, zeroAllowed: false, upTo: Self.maxSeconds)
        if kind == .ramp {
            let from = number(object, "from", at: path, zeroAllowed: true, upTo: Self.maxRate)
            let to = number(object, "to", at: path, zeroAllowed: true, upTo: Self.maxRate)
            guard let from, let to, let seconds else { return nil }
            return LoadPhase(kind: .ramp, from: from, to: to, seconds: seconds)
        }
        let rate = number(object, "rate", at: path, zeroAllowed: true, upTo: Self.maxRate)
        guard let rate, let seconds else { return nil }
        return LoadPhase(kind: kind, from: rate, to: rate, seconds: seconds)
    }
}
