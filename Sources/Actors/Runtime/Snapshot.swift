import TroupeCore

/// An actor's durable state: encoded to a TroupeCore JSON blob with a schema version, plus the
/// indexed columns that lists and filters use without decoding blobs.
///
/// **The rule of transitions.** Actors are reentrant at every `await`. A state change therefore
/// reads, decides and mutates synchronously, hands the new snapshot (and anything written with
/// it) to the group-commit writer in order, and only then awaits the commit. The caller is
/// answered after the commit: nothing acknowledged is lost on `kill -9`, and no other message
/// can observe a half-made decision.
public protocol Snapshot: Sendable {
    /// Bumped when the encoding changes; ``init(decoding:schemaVersion:)`` gets the stored one.
    static var schemaVersion: Int { get }
    func encoded() -> JSON
    init(decoding json: JSON, schemaVersion: Int) throws(SnapshotError)
    /// The workspace the state belongs to (nil for one that is its own workspace).
    var workspaceID: String? { get }
    /// A status to filter lists by, if the kind has one.
    var status: String? { get }
    /// The workflow to filter lists by, if the kind has one (set when the row is made: it never
    /// changes afterwards).
    var listedWorkflowID: String? { get }
    /// The schedule to filter lists by, if the kind has one (set when the row is made).
    var listedScheduleID: String? { get }
}

extension Snapshot {
    public var workspaceID: String? { nil }
    public var status: String? { nil }
    public var listedWorkflowID: String? { nil }
    public var listedScheduleID: String? { nil }
}

/// A stored snapshot that does not decode: reported with the actor's id, never reset silently.
public struct SnapshotError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
