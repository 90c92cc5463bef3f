import Synchronization

/// The server's streaming responses in progress, each with the stop its producer registered
/// (``HTTPBodyWriter/onStop(_:)``): a drain ends them at once (an event stream never finishes
/// by itself) instead of leaving them to the grace period's forced close.
final class OpenStreams: Sendable {
    private struct State {
        var draining = false
        var stops: [Int32: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// Records the stream of connection `fd`; false when the server drains already (the caller
    /// then stops the stream itself).
    func begin(_ fd: Int32, stop: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard !state.draining else { return false }
            state.stops[fd] = stop
            return true
        }
    }

    func end(_ fd: Int32) {
        _ = state.withLock { $0.stops.removeValue(forKey: fd) }
    }

    /// Stops every stream, and every one begun from now on.
    func stopAll() {
        let stops = state.withLock { state in
            state.draining = true
            defer { state.stops = [:] }
            return Array(state.stops.values)
        }
        for stop in stops { stop() }
    }
}
