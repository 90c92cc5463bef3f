import Synchronization

/// One holder at a time across suspension points, first come first served: an actor's
/// transition that awaits its commit holds the gate, so the next transition (reentering the
/// actor meanwhile) waits instead of deciding on a state that may yet fail to commit.
public final class SerialGate: Sendable {
    private struct State {
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Waits for the gate and holds it.
    public func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mine = state.withLock { state -> Bool in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if mine { continuation.resume() }
        }
    }

    /// Hands the gate to the next waiter (still held), or frees it.
    public func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
