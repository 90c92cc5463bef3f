extension TaskPriority {
    /// The priority of work that waits behind the rest: a workspace's requests past its fair
    /// share run at it. The event loops run such jobs after the others, and the database writer
    /// takes such changes after the others.
    public static let deferred = TaskPriority.background

    /// Whether this is ``deferred`` or lower (an unspecified priority is not).
    public var isDeferred: Bool { rawValue != 0 && rawValue <= TaskPriority.deferred.rawValue }
}
