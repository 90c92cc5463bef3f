import TroupeActors
import TroupeCore
import TroupePersistence

/// The server's settings: API.md's config file, every key optional, over the defaults.
public struct ServerConfig: Sendable, Equatable {
    public var signup = false
    public var sandboxExec = false
    /// Whether webhook deliveries may go to loopback, private, link-local and other internal
    /// addresses (API.md; `--dev` sets it).
    public var webhookPrivateNetworks = false
    public var maxBodyBytes = 1 << 20
    public var durability = Durability.full
    public var passwordIterations = 600_000
    /// Each API key's own limit per minute; nil is unlimited.
    public var apiKeyRequestsPerMinute: Int? = 600
    public var idleActorTTLSeconds = 300
    /// Where sandboxes' directories go; nil puts them in `troupe-sandboxes` beside the database.
    public var sandboxRoot: String?
    /// Whether sandbox commands may run with less than full isolation where full cannot be
    /// had (`"sandbox_isolation": "minimal"`); by default they are refused (403).
    public var sandboxIsolationMinimal = false
    /// The first uid (and gid) of the range sandboxes get when the server runs as root: each
    /// live sandbox runs as `sandbox_uid_base + slot` (65,536 slots). Keep the range unused.
    public var sandboxUIDBase: UInt32 = 200_000
    /// What a sandbox's directory may hold (`sandbox_disk_mb`, `sandbox_disk_entries`).
    public var sandboxDisk = SandboxDiskBound.Limits()
    public var plans = PlanLimits.defaults
    /// Reverse proxies whose `X-Forwarded-For` names the client (API.md `trusted_proxies`).
    var trustedProxies = TrustedProxies.none
    /// The plans a person may choose for a workspace themselves (create or PATCH); others are
    /// set by the operator (`troupe workspace set-plan`).
    public var selfServicePlans: Set<Plan> = Set(Plan.allCases)
    /// The workspaces one user may own at most.
    public var maxWorkspacesPerUser = 20
    /// Logins and signups a minute per client address and per /24 or /48 (API.md); nil is off.
    var loginAddressLimits: LoginAddressGate.Limits? = .defaults

    /// Turns the per-address login limits off (load and acceptance tests sign up many users
    /// from one address).
    public mutating func disableLoginAddressLimits() { loginAddressLimits = nil }

    public init() {}

    /// What the actors need of it.
    public var runtimeSettings: RuntimeSettings {
        RuntimeSettings(plans: plans, apiKeyRequestsPerMinute: apiKeyRequestsPerMinute)
    }

    /// A config problem, naming the key (`plans.starter.requests_per_minute`).
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public let key: String
        public let message: String
        public var description: String { key.isEmpty ? message : "config key \"\(key)\": \(message)" }
    }

    /// Reads a config file's JSON over the defaults; unknown keys, wrong types and values out
    /// of range are refused.
    public static func parse(_ bytes: [UInt8]) throws(Error) -> ServerConfig {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw Error(key: "", message: "the config file is not valid JSON: \(error)") }
        guard let object = json.objectValue else { throw Error(key: "", message: "the config file must be a JSON object") }
        var config = ServerConfig()
        for member in object {
            let key = member.key
            let value = member.value
            switch key {
            case "signup": config.signup = try bool(value, key)
            case "sandbox_exec": config.sandboxExec = try bool(value, key)
            case "webhook_private_networks": config.webhookPrivateNetworks = try bool(value, key)
            case "max_body_bytes": config.maxBodyBytes = try int(value, key, in: 1...(1 << 30))
            case "durability":
                switch value.stringValue {
                case "full": config.durability = .full
                case "normal": config.durability = .normal
                default: throw Error(key: key, message: "must be \"full\" or \"normal\"")
                }
            case "password_iterations": config.passwordIterations = try int(value, key, in: 1...10_000_000)
            case "api_key_requests_per_minute": config.apiKeyRequestsPerMinute = try limit(value, key)
            case "idle_actor_ttl_s": config.idleActorTTLSeconds = try int(value, key, in: 1...86_400 * 30)
            case "sandbox_root":
                guard let path = value.stringValue, path.hasPrefix("/") else { throw Error(key: key, message: "must be an absolute path") }
                config.sandboxRoot = path
            case "sandbox_isolation":
                switch value.stringValue {
                case "full": config.sandboxIsolationMinimal = false
                case "minimal": config.sandboxIsolationMinimal = true
                default: throw Error(key: key, message: "must be \"full\" or \"minimal\"")
                }
            case "sandbox_disk_mb":
                config.sandboxDisk.bytes = try int(value, key, in: 1...1_048_576) << 20
            case "sandbox_disk_entries":
                config.sandboxDisk.entries = try int(value, key, in: 100...10_000_000)
            case "sandbox_uid_base":
                config.sandboxUIDBase = UInt32(try int(value, key, in: 1_000...Int(UInt32.max) - 65_536))
            case "plans": config.plans = try plans(value, over: config.plans)
            case "login_address_limits": config.loginAddressLimits = try loginAddressLimits(value)
            case "self_service_plans":
                guard let names = value.arrayValue else { throw Error(key: key, message: "must be an array of plan names") }
                var chosen: Set<Plan> = []
                for name in names {
                    guard let plan = name.stringValue.flatMap(Plan.init(rawValue:)) else {
                        throw Error(key: key, message: "holds \(name.text), not a plan (starter, growth, enterprise)")
                    }
                    chosen.insert(plan)
                }
                config.selfServicePlans = chosen
            case "trusted_proxies":
                guard let list = value.arrayValue else { throw Error(key: key, message: "must be an array of CIDRs") }
                var networks: [TrustedProxies.Network] = []
                for entry in list {
                    guard let network = entry.stringValue.flatMap(TrustedProxies.Network.init) else {
                        throw Error(key: key, message: "holds \(entry.text), not a CIDR such as 10.0.0.0/8 or ::1/128")
                    }
                    networks.append(network)
                }
                config.trustedProxies = TrustedProxies(networks: networks)
            case "max_workspaces_per_user": config.maxWorkspacesPerUser = try int(value, key, in: 1...1_000_000)
            default: throw Error(key: key, message: "is not a known setting")
            }
        }
        return config
    }

    private static func plans(_ value: JSON, over defaults: [Plan: PlanLimits]) throws(Error) -> [Plan: PlanLimits] {
        guard let object = value.objectValue else { throw Error(key: "plans", message: "must be an object of plans") }
        var plans = defaults
        for member in object {
            guard let plan = Plan(rawValue: member.key) else {
                throw Error(key: "plans.\(member.key)", message: "is not a plan (starter, growth, enterprise)")
            }
            guard let fields = member.value.objectValue else { throw Error(key: "plans.\(member.key)", message: "must be an object") }
            var limits = plans[plan] ?? PlanLimits()
            for field in fields {
                let key = "plans.\(member.key).\(field.key)"
                switch field.key {
                case "requests_per_minute": limits.requestsPerMinute = try limit(field.value, key)
                case "requests_per_day": limits.requestsPerDay = try limit(field.value, key)
                case "active_runs": limits.activeRuns = try limit(field.value, key)
                case "sandboxes": limits.sandboxes = try limit(field.value, key)
                case "schedules": limits.schedules = try limit(field.value, key)
                default: throw Error(key: key, message: "is not a known plan setting")
                }
            }
            plans[plan] = limits
        }
        return plans
    }

    /// `null` (off), or `{per_ip_per_minute?, per_network_per_minute?}` over the defaults.
    private static func loginAddressLimits(_ value: JSON) throws(Error) -> LoginAddressGate.Limits? {
        if value.isNull { return nil }
        let key = "login_address_limits"
        guard let object = value.objectValue else { throw Error(key: key, message: "must be null or an object") }
        var limits = LoginAddressGate.Limits.defaults
        for member in object {
            switch member.key {
            case "per_ip_per_minute": limits.perAddressPerMinute = try int(member.value, key + "." + member.key, in: 1...1_000_000)
            case "per_network_per_minute": limits.perNetworkPerMinute = try int(member.value, key + "." + member.key, in: 1...1_000_000)
            default: throw Error(key: key + "." + member.key, message: "is not a known setting")
            }
        }
        return limits
    }

    private static func bool(_ value: JSON, _ key: String) throws(Error) -> Bool {
        guard let bool = value.boolValue else { throw Error(key: key, message: "must be true or false") }
        return bool
    }

    private static func int(_ value: JSON, _ key: String, in range: ClosedRange<Int>) throws(Error) -> Int {
        guard case .int(let number) = value, let int = Int(exactly: number), range.contains(int) else {
            throw Error(key: key, message: "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return int
    }

    /// A limit: a positive integer, or null for unlimited.
    private static func limit(_ value: JSON, _ key: String) throws(Error) -> Int? {
        if value.isNull { return nil }
        return try int(value, key, in: 1...1_000_000_000)
    }
}
