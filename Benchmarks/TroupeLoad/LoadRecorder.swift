import Synchronization

/// What a run's requests came to, by workspace class and route: a latency histogram and a
/// count per status (0: no answer — a connection or timeout failure, or a request dropped at
/// the in-flight bound), for the whole run and for the second under way (the progress line).
/// Shared by every driver; each record is one short critical section.
public final class LoadRecorder: Sendable {
    /// A class and a route (`GET /v1/runs/{id}`).
    public struct Key: Hashable, Sendable, Comparable {
        public let workspaceClass: String
        public let route: String

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.workspaceClass, lhs.route) < (rhs.workspaceClass, rhs.route)
        }
    }

    /// One group's figures.
    public struct Tally: Sendable {
        /// The latencies of the requests sent (one dropped at the in-flight bound has none).
        public var latency = LatencyHistogram()
        public var statuses: [Int: Int] = [:]

        /// Requests due, sent or not.
        public var requests: Int { statuses.values.reduce(0, +) }

        /// Answers that were not 2xx, and requests with no answer.
        public var errors: Int { statuses.reduce(0) { $0 + ((200..<300).contains($1.key) ? 0 : $1.value) } }

        mutating func merge(_ other: Tally) {
            latency.merge(other.latency)
            for (status, count) in other.statuses { statuses[status, default: 0] += count }
        }
    }

    private struct State {
        var total: [Key: Tally] = [:]
        var second = Tally()
        var inFlight = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A request of `key` ended with `status` after `latency` (from when it was due); nil for
    /// one never sent.
    public func record(_ key: Key, status: Int, latency: Duration?) {
        state.withLock { state in
            if let latency {
                state.total[key, default: Tally()].latency.record(latency)
                state.second.latency.record(latency)
            }
            state.total[key, default: Tally()].statuses[status, default: 0] += 1
            state.second.statuses[status, default: 0] += 1
        }
    }

    /// Takes one more in-flight slot unless `limit` are taken; whether it did.
    public func start(limit: Int) -> Bool {
        state.withLock { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
    }

    public func finish() { state.withLock { $0.inFlight -= 1 } }

    /// The second just ended (and a new one begun), with the requests in flight now.
    public func takeSecond() -> (Tally, inFlight: Int) {
        state.withLock { state in
            defer { state.second = Tally() }
            return (state.second, state.inFlight)
        }
    }

    /// Every group's figures so far.
    public var groups: [Key: Tally] { state.withLock(\.total) }
}
