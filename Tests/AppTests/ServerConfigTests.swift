import Testing
import TroupeActors
@testable import TroupeApp

@Suite(.timeLimit(.minutes(5)))
struct ServerConfigTests {
    @Test func theExampleOfAPIMdParses() throws {
        let config = try ServerConfig.parse(Array("""
            {"signup": true, "sandbox_exec": false, "max_body_bytes": 1048576, "durability": "full",
             "password_iterations": 600000, "api_key_requests_per_minute": 600,
             "idle_actor_ttl_s": 300, "sandbox_root": "/tmp/troupe-sandboxes",
             "webhook_private_networks": false,
             "plans": {"starter": {"requests_per_minute": 60, "requests_per_day": 5000,
                                   "active_runs": 10, "sandboxes": 2}}}
            """.utf8))
        #expect(config.signup)
        #expect(!config.webhookPrivateNetworks)
        #expect(try ServerConfig.parse(Array(#"{"webhook_private_networks": true}"#.utf8)).webhookPrivateNetworks)
        #expect(config.plans[.starter]?.requestsPerMinute == 60)
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
        (#"{"password_iterations": 0}"#, "password_iterations"),
        (#"{"max_body_bytes": 1.5}"#, "max_body_bytes"),
        (#"{"plans": {"gold": {}}}"#, "plans.gold"),
        (#"{"plans": {"starter": {"requests_per_hour": 5}}}"#, "plans.starter.requests_per_hour"),
        (#"{"plans": {"starter": {"requests_per_minute": -1}}}"#, "plans.starter.requests_per_minute"),
        (#"{"sandbox_root": "relative"}"#, "sandbox_root"),
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
