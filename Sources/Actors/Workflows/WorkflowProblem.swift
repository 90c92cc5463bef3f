/// Something wrong with a workflow definition, at a path such as `steps[2].needs[0]`.
public struct WorkflowProblem: Sendable, Equatable {
    public let field: String
    public let message: String
    /// A value of the wrong JSON type (the API's 400) rather than a broken rule (422).
    public let isWrongType: Bool

    public init(field: String, message: String, isWrongType: Bool) {
        self.field = field
        self.message = message
        self.isWrongType = isWrongType
    }
}
