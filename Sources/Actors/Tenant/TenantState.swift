import TroupeCore

/// A workspace's durable state: settings, and the rate-limit leases that make limits survive a
/// restart without a write per request (see ``TenantActor``).
public struct TenantState: Snapshot, Equatable {
    public static let schemaVersion = 1

    public var name: String
    public var plan: Plan
    public var createdAt: Timestamp
    /// Per-minute limiter: requests are durably accounted up to this theoretical arrival time (µs).
    var minuteLease: Int64 = 0
    /// Daily quota: requests durably accounted on `dailyLeaseDay`.
    var dailyLeaseDay: Int64 = 0
    var dailyLease = 0
    /// Per-API-key limiters: key id → theoretical arrival time (µs) durably accounted.
    var keyLeases: [String: Int64] = [:]

    public init(name: String, plan: Plan, createdAt: Timestamp) {
        self.name = name
        self.plan = plan
        self.createdAt = createdAt
    }

    public func encoded() -> JSON {
        var keys = JSONObject()
        for (key, lease) in keyLeases.sorted(by: { $0.key < $1.key }) { keys[key] = .int(lease) }
        return [
            "name": .string(name), "plan": .string(plan.rawValue), "created_at_us": .int(createdAt.microsecondsSinceEpoch),
            "minute_lease_us": .int(minuteLease), "daily_lease_day": .int(dailyLeaseDay), "daily_lease": .int(Int64(dailyLease)),
            "key_leases_us": .object(keys),
        ]
    }

    public init(decoding json: JSON, schemaVersion: Int) throws(SnapshotError) {
        guard schemaVersion == Self.schemaVersion else { throw SnapshotError("unknown tenant schema version \(schemaVersion)") }
        guard let name = json["name"]?.stringValue, let planName = json["plan"]?.stringValue,
            let plan = Plan(rawValue: planName), let created = json["created_at_us"]?.intValue,
            let minuteLease = json["minute_lease_us"]?.intValue, let day = json["daily_lease_day"]?.intValue,
            let daily = json["daily_lease"]?.intValue, let keys = json["key_leases_us"]?.objectValue
        else { throw SnapshotError("a tenant snapshot is missing a field or has one of the wrong type") }
        self.init(name: name, plan: plan, createdAt: Timestamp(microsecondsSinceEpoch: created))
        self.minuteLease = minuteLease
        dailyLeaseDay = day
        dailyLease = Int(daily)
        for member in keys {
            guard let lease = member.value.intValue else { throw SnapshotError("a key lease is not an integer") }
            keyLeases[member.key] = lease
        }
    }
}
