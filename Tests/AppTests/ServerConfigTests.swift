import Testing
import TroupeActors
@testable import TroupeApp

@Suite(.timeLimit(.minutes(5)))
struct ServerConfigTests {
    @Test func theExampleOfAPIMdParses() throws {
        let config = try ServerConfig.parse(Array("""
            {"signup": true, "sandbox_exec": false, "sandbox_isolation": "full", "max_body_bytes": 1048576, "durability": "full",
             "trusted_proxies": [], "login_address_limits": {"per_ip_per_minute": 30, "per_network_per_minute": 120},
             "self_service_plans": ["starter", "growth", "enterprise"], "max_workspaces_per_user": 20,
             "password_iterations": 600000, "api_key_requests_per_minute": 600,
             "idle_actor_ttl_s": 300, "sandbox_root": "/tmp/troupe-sandboxes",
             "webhook_private_networks": false,
             "plans": {"starter": {"requests_per_minute": 60, "requests_per_day": 5000,
                                   "active_runs": 10, "sandboxes": 2}}}
            """.utf8))
        #expect(config.signup)
        #expect(!config.sandboxIsolationMinimal)
        #expect(config.loginAddressLimits == .defaults)
        #expect(config.selfServicePlans == Set(Plan.allCases) && config.maxWorkspacesPerUser == 20)
        #expect(try ServerConfig.parse(Array(#"{"login_address_limits": null}"#.utf8)).loginAddressLimits == nil)
        #expect(try ServerConfig.parse(Array(#"{"sandbox_isolation": "minimal"}"#.utf8)).sandboxIsolationMinimal)
        #expect(!config.webhookPrivateNetworks)
        #expect(try ServerConfig.parse(Array(#"{"webhook_private_networks": true}"#.utf8)).webhookPrivateNetworks)
        #expect(config.plans[.starter]?.requestsPerMinute == 60)
    }

    @Test func theSandboxDiskBoundIsTheOperatorsToSet() throws {
        #expect(try ServerConfig.parse(Array("{}".utf8)).sandboxDisk == SandboxDiskBound.Limits())
        let config = try ServerConfig.parse(Array(#"{"sandbox_disk_mb": 1024, "sandbox_disk_entries": 1000000}"#.utf8))
        #expect(config.sandboxDisk.bytes == 1 << 30 && config.sandboxDisk.entries == 1_000_000)
    }

    @Test func aPlanOverrideChangesOnlyWhatItNames() throws {
        let config = try ServerConfig.parse(Array(#"{"plans": {"growth": {"requests_per_day": null}}}"#.utf8))
        #expect(config.plans[.growth]?.requestsPerDay == nil)
        #expect(config.plans[.growth]?.requestsPerMinute == 300)
    }

    @Test(arguments: [
        (#"{"signup": "yes"}"#, "signup"),
        (#"{"webhook_private_networks": 1}"#, "webhook_private_networks"),
        (#"{"port": 80}"#, "port"),
        (#"{"durability": "fast"}"#, "durability"),
        (#"{"sandbox_isolation": "none"}"#, "sandbox_isolation"),
        (#"{"trusted_proxies": ["10.0.0.0/33"]}"#, "trusted_proxies"),
        (#"{"self_service_plans": ["platinum"]}"#, "self_service_plans"),
        (#"{"max_workspaces_per_user": 0}"#, "max_workspaces_per_user"),
        (#"{"login_address_limits": {"per_ip": 3}}"#, "login_address_limits.per_ip"),
        (#"{"password_iterations": 0}"#, "password_iterations"),
        (#"{"max_body_bytes": 1.5}"#, "max_body_bytes"),
        (#"{"plans": {"gold": {}}}"#, "plans.gold"),
        (#"{"plans": {"starter": {"requests_per_hour": 5}}}"#, "plans.starter.requests_per_hour"),
        (#"{"plans": {"starter": {"requests_per_minute": -1}}}"#, "plans.starter.requests_per_minute"),
        (#"{"sandbox_root": "relative"}"#, "sandbox_root"),
        (#"{"sandbox_disk_mb": 0}"#, "sandbox_disk_mb"),
        (#"{"sandbox_disk_mb": 1048577}"#, "sandbox_disk_mb"),
        (#"{"sandbox_disk_entries": 99}"#, "sandbox_disk_entries"),
    ])
    func badSettingsNameTheirKey(text: String, key: String) {
        #expect(throws: ServerConfig.Error.self) { try ServerConfig.parse(Array(text.utf8)) }
        do {
            _ = try ServerConfig.parse(Array(text.utf8))
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains(key))
        }
    }

    @Test func notJSONIsRefused() {
        #expect(throws: ServerConfig.Error.self) { try ServerConfig.parse(Array("signup=true".utf8)) }
    }
}
