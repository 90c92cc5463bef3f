import TroupeCore
import Synchronization

/// The resident actors of one kind, in 16 shards each behind its own `Mutex`: the registry's
/// hot path. One lock for the whole table measured 28 % of the time in `Mutex._lockSlow` with
/// two callers (17 µs per lookup and call); shards keep callers of different actors apart.
///
/// Not generic: actors are kept as `AnyObject` and the registry of one kind, the only writer,
/// casts them back. A table generic over the actor type ran its dictionary code unspecialized
/// when called from another module, looking up generic metadata on every access (measured
/// 10 % of an authenticated request).
final class ResidentTable: Sendable {
    struct Resident {
        let actor: any AnyObject & Sendable
        /// µs since the epoch of the last admitted message.
        var lastUsed: Int64
        var inFlight: Int
    }

    enum Admission {
        case admitted(any AnyObject & Sendable)
        case full
        case absent
    }

    private final class Shard: Sendable {
        let residents = Mutex<[String: Resident]>([:])
    }

    private static var shardCount: Int { 16 }
    private let shards: [Shard] = (0..<ResidentTable.shardCount).map { _ in Shard() }

    private func shard(_ id: String) -> Shard {
        shards[Int(UInt(bitPattern: id.hashValue) % UInt(Self.shardCount))]
    }

    /// Admits one message to `id` if resident and its mailbox has room.
    func admit(_ id: String, capacity: Int, now: Int64) -> Admission {
        shard(id).residents.withLock { table in
            guard let resident = table[id] else { return .absent }
            guard resident.inFlight < capacity else { return .full }
            table[id]?.inFlight += 1
            table[id]?.lastUsed = now
            return .admitted(resident.actor)
        }
    }

    /// A message to `actor` finished (a replaced instance is left alone).
    func release(_ id: String, _ actor: any AnyObject & Sendable) {
        shard(id).residents.withLock { table in
            if table[id]?.actor === actor { table[id]?.inFlight -= 1 }
        }
    }

    /// Makes `actor` resident; past `maxResident`, passivates the least recently used idle
    /// actors down to 90 % of it. Returns how many were passivated.
    func insert(_ id: String, _ actor: any AnyObject & Sendable, now: Int64, maxResident: Int) -> Int {
        shard(id).residents.withLock { $0[id] = Resident(actor: actor, lastUsed: now, inFlight: 0) }
        let total = count
        guard total > maxResident else { return 0 }
        // The least recently used idle actors across all shards, down to 90 % of the cap.
        let target = max(1, maxResident - maxResident / 10)
        let idle = shards.flatMap { shard in
            shard.residents.withLock { table in
                table.filter { $0.value.inFlight == 0 && $0.key != id }.map { (key: $0.key, lastUsed: $0.value.lastUsed) }
            }
        }.sorted { $0.lastUsed < $1.lastUsed }
        var evicted = 0
        for victim in idle.prefix(total - target) {
            evicted += self.shard(victim.key).residents.withLock { table in
                guard let resident = table[victim.key], resident.inFlight == 0, resident.lastUsed == victim.lastUsed else { return 0 }
                table.removeValue(forKey: victim.key)
                return 1
            }
        }
        return evicted
    }

    /// Removes `actor` if it is still the resident instance of `id`.
    func remove(_ id: String, ifSame actor: any AnyObject & Sendable) {
        shard(id).residents.withLock { table in
            if table[id]?.actor === actor { table.removeValue(forKey: id) }
        }
    }

    /// Removes `id` if it has no message in flight; whether it did.
    func removeIfIdle(_ id: String) -> Bool {
        shard(id).residents.withLock { table in
            guard let resident = table[id], resident.inFlight == 0 else { return false }
            table.removeValue(forKey: id)
            return true
        }
    }

    func removeIdle(lastUsedAtOrBefore cutoff: Int64) -> Int {
        shards.reduce(0) { removed, shard in
            removed + shard.residents.withLock { table in
                let idle = table.filter { $0.value.inFlight == 0 && $0.value.lastUsed <= cutoff }.map(\.key)
                for id in idle { table.removeValue(forKey: id) }
                return idle.count
            }
        }
    }

    func contains(_ id: String) -> Bool { shard(id).residents.withLock { $0[id] != nil } }

    var count: Int { shards.reduce(0) { $0 + $1.residents.withLock { $0.count } } }
}

/// A registry's counters, for metrics.
public struct RegistryStatistics: Sendable, Equatable {
    public var resident = 0
    public var activations = 0
    public var passivations = 0
    public var restarts = 0
    public var quarantines = 0
    public var overloadRejections = 0
    public var corruptSnapshots = 0
    /// Activation latencies in µs, by upper bound of bucket (the last bucket is everything above).
    public var activationLatency = LatencyBuckets()
}
