import Testing

@testable import TroupeApp

/// The attack: a client writing its own `X-Forwarded-For` to pass as another address (to
/// dodge the per-address login limits, or to put a lie in the audit's `ip`). Only a trusted
/// proxy's word is taken.
@Suite(.timeLimit(.minutes(5)))
struct TrustedProxiesTests {
    private let proxies = TrustedProxies(networks: ["10.0.0.0/8", "::1/128", "192.168.1.7"].compactMap(TrustedProxies.Network.init))

    @Test func aClientsOwnForwardedForIsIgnored() {
        #expect(proxies.clientAddress(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"]) == "203.0.113.9")
        #expect(TrustedProxies.none.clientAddress(peer: "10.0.0.1", forwardedFor: ["1.2.3.4"]) == "10.0.0.1")
    }

    @Test func behindTrustedProxiesTheRightmostUntrustedHopIsTheClient() {
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["1.2.3.4, 198.51.100.7"]) == "198.51.100.7",
                "the left part is what the client wrote; the proxy appended the address it saw")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["198.51.100.7", "10.9.9.9"]) == "198.51.100.7")
        #expect(proxies.clientAddress(peer: "::1", forwardedFor: ["2001:db8::5"]) == "2001:db8::5")
        #expect(proxies.clientAddress(peer: "192.168.1.7", forwardedFor: []) == "192.168.1.7")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["not-an-address"]) == "10.1.2.3")
    }

    @Test func networksMatchByTheirPrefix() {
        let network = TrustedProxies.Network("172.16.0.0/12")
        #expect(network?.contains([172, 31, 255, 1]) == true)
        #expect(network?.contains([172, 32, 0, 1]) == false)
        #expect(TrustedProxies.Network("10.0.0.0/33") == nil && TrustedProxies.Network("nonsense") == nil)
        #expect(TrustedProxies.Network("0.0.0.0/0")?.contains([8, 8, 8, 8]) == true)
    }
}
