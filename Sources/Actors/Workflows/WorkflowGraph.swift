/// The dependency graph of a workflow's steps (an edge from a step to each step it needs).
struct WorkflowGraph {
    private let needs: [String: [String]]
    private let order: [String]

    init(steps: [WorkflowStep]) {
        needs = Dictionary(steps.map { ($0.id, $0.needs) }, uniquingKeysWith: { first, _ in first })
        order = steps.map(\.id)
    }

    /// A cycle as the ids along it, back to the first (`a → b → a`), or nil when there is none.
    /// Depth-first from each step in order, so the same definition always names the same cycle.
    func firstCycle() -> [String]? {
        enum Mark { case onPath, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []

        func visit(_ id: String) -> [String]? {
            switch marks[id] {
            case .done: return nil
            case .onPath:
                guard let start = path.firstIndex(of: id) else { return nil }
                return Array(path[start...]) + [id]
            case nil: break
            }
            marks[id] = .onPath
            path.append(id)
            for next in needs[id] ?? [] {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            marks[id] = .done
            return nil
        }

        for id in order {
            if let cycle = visit(id) { return cycle }
        }
        return nil
    }
}
