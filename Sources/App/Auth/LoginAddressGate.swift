import Synchronization
import TroupeActors
import TroupeCore

/// Logins and signups by client address (API.md: 30 a minute per IP, 120 per /24 or /48, config
/// `login_address_limits`), decided before any hashing: a flood of random emails from one place
/// cannot fill the password hasher's queue for everyone. Each address also holds at most
/// ``maxInFlight`` hashes at a time, its fair share of that queue.
///
/// Kept in memory, bounded to ``maxTracked`` addresses and networks: past it, those whose
/// bucket is full again are dropped first, then the ones that refill soonest.
final class LoginAddressGate: Sendable {
    /// The per-minute limits; nil turns the gate off (load and acceptance tests).
    struct Limits: Sendable, Equatable {
        var perAddressPerMinute: Int
        var perNetworkPerMinute: Int

        static let defaults = Limits(perAddressPerMinute: 30, perNetworkPerMinute: 120)
    }

    static let maxTracked = 100_000
    /// Hashes one address may have waiting or running at once (of the hasher's 16).
    static let maxInFlight = 4

    private struct State {
        var buckets: [String: GCRALimiter] = [:]
        var inFlight: [String: Int] = [:]
    }

    let limits: Limits?
    private let state = Mutex(State())

    init(limits: Limits?) {
        self.limits = limits
    }

    /// Admits a login or signup from `address` at `now` (counting it against the address and
    /// its network), or throws 429 naming when to retry, or 503 when the address already has
    /// its share of hashes under way. Call ``release(_:)`` with the returned key when done.
    func admit(_ address: String?, at now: Timestamp) throws(APIError) -> String? {
        guard let limits, let address else { return nil }
        let network = Self.network(of: address)
        let keys = [("ip:" + address, limits.perAddressPerMinute), ("net:" + network, limits.perNetworkPerMinute)]
        return try state.withLock { (state: inout State) throws(APIError) -> String? in
            if state.inFlight[address, default: 0] >= Self.maxInFlight {
                var error = APIError(.overloaded, "This address has as many sign-ins being checked as it may; retry shortly.")
                error.retryAfterSeconds = 1
                throw error
            }
            if state.buckets.count >= Self.maxTracked { Self.makeRoom(in: &state.buckets, at: now) }
            var decisions: [(String, GCRALimiter)] = []
            for (key, limit) in keys {
                var bucket = state.buckets[key] ?? GCRALimiter(limit: limit, period: .seconds(60))
                let decision = bucket.admit(at: now)
                guard decision.allowed else {
                    var error = APIError(.rateLimited, "Too many sign-ins and sign-ups from this address; retry in \(decision.retryAfterSeconds) s.")
                    error.retryAfterSeconds = decision.retryAfterSeconds
                    throw error
                }
                decisions.append((key, bucket))
            }
            for (key, bucket) in decisions { state.buckets[key] = bucket }
            state.inFlight[address, default: 0] += 1
            return address
        }
    }

    /// Ends what ``admit(_:at:)`` let in.
    func release(_ address: String?) {
        guard let address else { return }
        state.withLock { state in
            let left = state.inFlight[address, default: 1] - 1
            state.inFlight[address] = left > 0 ? left : nil
        }
    }

    /// Addresses and networks with a bucket now.
    var trackedCount: Int { state.withLock { $0.buckets.count } }

    /// The /24 of an IPv4 address or the /48 of an IPv6 one, as text; the address itself when
    /// it reads as neither.
    static func network(of address: String) -> String {
        guard let bytes = TrustedProxies.bytes(of: address) else { return address }
        if bytes.count == 4 { return "\(bytes[0]).\(bytes[1]).\(bytes[2]).0/24" }
        return bytes.prefix(6).map { String($0, radix: 16) }.joined(separator: ":") + "::/48"
    }

    private static func makeRoom(in buckets: inout [String: GCRALimiter], at now: Timestamp) {
        let moment = now.microsecondsSinceEpoch
        buckets = buckets.filter { $0.value.theoreticalArrival > moment }
        while buckets.count >= maxTracked, let soonest = buckets.min(by: { $0.value.theoreticalArrival < $1.value.theoreticalArrival })?.key {
            buckets.removeValue(forKey: soonest)
        }
    }
}
