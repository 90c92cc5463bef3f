import TroupeCore

/// An actor whose state lives in snapshots and whose life an ``ActorRegistry`` manages:
/// activated on demand from its last committed snapshot, passivated when idle, restarted after
/// a fault. Tenants now; runs and sandboxes later.
public protocol ManagedActor: Actor {
    associatedtype State: Snapshot
    /// The kind stored with its snapshots (`tenant`, `run`, …).
    static var kind: String { get }
    /// Builds the actor from its last committed state.
    init(id: String, state: State, context: ActorContext)
}

/// What every managed actor gets: the store its snapshots go to, the clock, and the settings.
public struct ActorContext: Sendable {
    public let store: SnapshotStore
    public let clock: any WallClock
    public let settings: RuntimeSettings

    public init(store: SnapshotStore, clock: any WallClock, settings: RuntimeSettings) {
        self.store = store
        self.clock = clock
        self.settings = settings
    }
}

/// How a registry treats a child that throws an unexpected error.
public struct SupervisionPolicy: Sendable {
    /// Restarts allowed within `window`; the next fault quarantines the child.
    public var maxRestarts: Int
    public var window: Duration
    /// The first quarantine lasts this long; each further one doubles, up to `maxBackoff`.
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public static func restart(atMost maxRestarts: Int = 5, within window: Duration = .seconds(60)) -> SupervisionPolicy {
        SupervisionPolicy(maxRestarts: maxRestarts, window: window, initialBackoff: .seconds(1), maxBackoff: .seconds(300))
    }
}
