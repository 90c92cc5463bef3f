/// Errors that are an actor's normal answers, not faults: the supervisor passes them to the
/// caller and keeps the actor. Any other error an actor throws counts as a fault.
public protocol ExpectedActorError: Error {}

/// What the runtime answers instead of an actor.
public struct ActorRuntimeError: ExpectedActorError, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// No snapshot with that id: unknown ids are never a blank actor.
        case notFound
        /// The actor's mailbox is full: the API answers 503 with `Retry-After`.
        case overloaded
        /// The actor faulted too often and waits out its back-off: 503 with `Retry-After`.
        case quarantined
        /// The stored snapshot does not decode; the actor is quarantined, its state kept.
        case corruptSnapshot
    }

    public let code: Code
    public let kind: String
    public let id: String
    public let message: String
    /// For `overloaded` and `quarantined`: when to try again.
    public let retryAfter: Duration?

    public init(_ code: Code, kind: String, id: String, message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.kind = kind
        self.id = id
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(kind) \(id): \(message)" }
}
