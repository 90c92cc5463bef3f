import TroupeCore

/// Turns the `steps` of a workflow (JSON) into ``WorkflowStep``s, or says everything wrong with
/// them at once: wrong types, missing or unknown fields, bad values, duplicate ids, `needs` that
/// name no step, cycles (named step by step), and API.md's limits.
public struct WorkflowParser {
    public static let maxSteps = 100
    public static let maxInputBytes = 64 * 1024
    public static let maxTimeoutMilliseconds: Int64 = 7 * 86_400_000
    /// An approval step's deadline, and a workflow's: 1 s to 30 days.
    public static let deadlineMilliseconds: ClosedRange<Int64> = 1_000...30 * 86_400_000
    public static let maxWaitMilliseconds: Int64 = 365 * 86_400_000
    private static let commonFields: Set<String> = ["id", "kind", "needs", "timeout_ms", "max_attempts"]
    private static let kindFields: [WorkflowStep.Kind: Set<String>] = [
        .task: ["queue", "input"], .approval: ["approvers"], .sandbox: ["argv", "resource_limits"], .wait: ["duration_ms"],
    ]

    private(set) var problems: [WorkflowProblem] = []
    /// Reading a definition stored earlier: it passed the rules of its day, and the rules of
    /// `argv` and the ranges of `resource_limits` (tightened since) are not applied again, so that
    /// no stored workflow or run becomes unreadable. The step's runner checks them itself.
    private let stored: Bool

    /// The steps, or the problems (never both empty when `steps` is wrong). `stored`: a definition
    /// read back from the database, checked by the rules it was written under.
    public static func parse(steps json: JSON?, stored: Bool = false) -> Result<[WorkflowStep], ProblemList> {
        var parser = WorkflowParser(stored: stored)
        let steps = parser.steps(json)
        return parser.problems.isEmpty ? .success(steps) : .failure(ProblemList(problems: parser.problems))
    }

    /// The problems of a definition that did not parse.
    public struct ProblemList: Error, Sendable {
        public let problems: [WorkflowProblem]
    }

    /// `[a-z0-9-]{1,64}`, the shape of a workflow's slug.
    public static func isSlug(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9_-]{1,64}`, the shape of a step id.
    public static func isStepID(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private mutating func problem(_ field: String, _ message: String, wrongType: Bool = false) {
        problems.append(WorkflowProblem(field: field, message: message, isWrongType: wrongType))
    }

    private mutating func steps(_ json: JSON?) -> [WorkflowStep] {
        guard let json else {
            problem("steps", "steps is required: an array of steps.")
            return []
        }
        guard let elements = json.arrayValue else {
            problem("steps", "steps must be an array.", wrongType: true)
            return []
        }
        if elements.isEmpty { problem("steps", "steps must hold at least one step.") }
        if elements.count > Self.maxSteps { problem("steps", "A workflow has at most \(Self.maxSteps) steps; this one has \(elements.count).") }
        let steps = elements.enumerated().compactMap { index, element in step(element, at: "steps[\(index)]") }
        checkReferences(elements)
        guard steps.count == elements.count, problems.isEmpty else { return [] }
        if let cycle = WorkflowGraph(steps: steps).firstCycle(), let first = cycle.first, let index = steps.firstIndex(where: { $0.id == first }) {
            problem("steps[\(index)].needs", "The steps form a cycle: \(cycle.joined(separator: " → ")).")
        }
        return steps
    }

    private mutating func step(_ json: JSON, at path: String) -> WorkflowStep? {
        guard let object = json.objectValue else {
            problem(path, "Each step must be an object.", wrongType: true)
            return nil
        }
        let before = problems.count
        let id = string(object, "id", at: path, required: true)
        if let id, !Self.isStepID(id) { problem("\(path).id", "id must be 1–64 characters of a-z, 0-9, _ and -.") }
        let kindName = string(object, "kind", at: path, required: true)
        let kind = kindName.flatMap(WorkflowStep.Kind.init(rawValue:))
        if let kindName, kind == nil {
            problem("\(path).kind", "kind \(kindName) is not one of \(WorkflowStep.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let needs = strings(object, "needs", at: path) ?? []
        let deadline = kind == .approval
        var timeout = object["timeout_ms"]?.isNull == true && deadline ? nil
            : integer(object, "timeout_ms", at: path, in: deadline ? Self.deadlineMilliseconds : 1...Self.maxTimeoutMilliseconds)
        if !deadline, timeout == nil { timeout = WorkflowStep.defaultTimeoutMilliseconds }
        let attempts = integer(object, "max_attempts", at: path, in: 1...20).map(Int.init) ?? WorkflowStep.defaultMaxAttempts
        guard let kind else { return nil }
        let allowed = Self.commonFields.union(Self.kindFields[kind] ?? [])
        for key in object.keys where !allowed.contains(key) {
            problem("\(path).\(key)", "\(key) is not a field of a \(kind.rawValue) step.")
        }
        guard let work = work(kind, object, at: path), let id, problems.count == before else { return nil }
        return WorkflowStep(id: id, needs: needs, timeoutMilliseconds: timeout, maxAttempts: attempts, work: work)
    }

    private mutating func work(_ kind: WorkflowStep.Kind, _ object: JSONObject, at path: String) -> WorkflowStep.Work? {
        switch kind {
        case .task:
            let queue = string(object, "queue", at: path) ?? WorkflowStep.defaultQueue
            if !(1...64).contains(queue.utf8.count) { problem("\(path).queue", "queue must be 1–64 characters.") }
            var input = JSONObject()
            if let value = object["input"] {
                guard let given = value.objectValue else {
                    problem("\(path).input", "input must be an object.", wrongType: true)
                    return nil
                }
                if value.bytes.count > Self.maxInputBytes { problem("\(path).input", "input must be at most 64 KiB of JSON.") }
                input = given
            }
            return .task(queue: queue, input: input)
        case .approval:
            guard let names = strings(object, "approvers", at: path) else { return .approval(approvers: WorkflowStep.defaultApprovers) }
            if names.isEmpty { problem("\(path).approvers", "approvers must name at least one role.") }
            var roles: [Role] = []
            for (index, name) in names.enumerated() {
                guard let role = Role(rawValue: name) else {
                    problem("\(path).approvers[\(index)]", "\(name) is not a role: owner, admin, member or viewer.")
                    continue
                }
                if !roles.contains(role) { roles.append(role) }
            }
            return .approval(approvers: roles)
        case .sandbox:
            let argv = strings(object, "argv", at: path, required: true) ?? []
            if object["argv"] != nil, !stored {
                for (field, message) in SandboxExec.argvProblems(argv, at: "\(path).argv") { problem(field, message) }
            }
            return .sandbox(argv: argv, resourceLimits: resourceLimits(object["resource_limits"], at: "\(path).resource_limits"))
        case .wait:
            guard let duration = integer(object, "duration_ms", at: path, in: 1...Self.maxWaitMilliseconds, required: true) else { return nil }
            return .wait(durationMilliseconds: duration)
        }
    }

    /// The integers given (the defaults are filled in when the step runs), each in its range
    /// (``SandboxLimits/fields``).
    private mutating func resourceLimits(_ json: JSON?, at path: String) -> JSONObject {
        guard let json else { return JSONObject() }
        guard let object = json.objectValue else {
            problem(path, "resource_limits must be an object.", wrongType: true)
            return JSONObject()
        }
        var limits = JSONObject()
        for member in object {
            guard let field = SandboxLimits.fields.first(where: { $0.name == member.key }) else {
                problem("\(path).\(member.key)", "\(member.key) is not a resource limit: \(SandboxLimits.fields.map(\.name).joined(separator: ", ")).")
                continue
            }
            guard let value = member.value.intValue else {
                problem("\(path).\(member.key)", "\(member.key) must be an integer.", wrongType: true)
                continue
            }
            let range = Int64(field.range.lowerBound)...Int64(field.range.upperBound)
            if stored ? value < 1 : !range.contains(value) {
                problem("\(path).\(member.key)", "\(member.key) must be an integer from \(field.range.lowerBound) to \(field.range.upperBound).")
            }
            limits[member.key] = .int(value)
        }
        return limits
    }

    private mutating func string(_ object: JSONObject, _ key: String, at path: String, required: Bool = false) -> String? {
        guard let value = object[key] else {
            if required { problem("\(path).\(key)", "\(key) is required.") }
            return nil
        }
        guard let text = value.stringValue else {
            problem("\(path).\(key)", "\(key) must be a string.", wrongType: true)
            return nil
        }
        return text
    }

    private mutating func strings(_ object: JSONObject, _ key: String, at path: String, required: Bool = false) -> [String]? {
        guard let value = object[key] else {
            if required { problem("\(path).\(key)", "\(key) is required.") }
            return nil
        }
        guard let elements = value.arrayValue else {
            problem("\(path).\(key)", "\(key) must be an array of strings.", wrongType: true)
            return nil
        }
        var texts: [String] = []
        for (index, element) in elements.enumerated() {
            guard let text = element.stringValue else {
                problem("\(path).\(key)[\(index)]", "\(key)[\(index)] must be a string.", wrongType: true)
                continue
            }
            texts.append(text)
        }
        return texts
    }

    private mutating func integer(
        _ object: JSONObject, _ key: String, at path: String, in range: ClosedRange<Int64>, required: Bool = false
    ) -> Int64? {
        guard let value = object[key] else {
            if required { problem("\(path).\(key)", "\(key) is required.") }
            return nil
        }
        guard let number = value.intValue else {
            problem("\(path).\(key)", "\(key) must be an integer.", wrongType: true)
            return nil
        }
        guard range.contains(number) else {
            problem("\(path).\(key)", "\(key) must be between \(range.lowerBound) and \(range.upperBound).")
            return nil
        }
        return number
    }

    /// Unique ids and `needs` that name steps, checked on every step whose id and needs are
    /// readable, so these problems show beside the others.
    private mutating func checkReferences(_ elements: [JSON]) {
        var indexByID: [String: Int] = [:]
        for (index, element) in elements.enumerated() {
            guard let id = element.objectValue?["id"]?.stringValue else { continue }
            if let first = indexByID[id] {
                problem("steps[\(index)].id", "id \(id) is already used by steps[\(first)].")
            } else {
                indexByID[id] = index
            }
        }
        for (index, element) in elements.enumerated() {
            for (position, need) in (element.objectValue?["needs"]?.arrayValue ?? []).enumerated() {
                if let need = need.stringValue, indexByID[need] == nil {
                    problem("steps[\(index)].needs[\(position)]", "needs names \(need), which is not a step of this workflow.")
                }
            }
        }
    }
}
