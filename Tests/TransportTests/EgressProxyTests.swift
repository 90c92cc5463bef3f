import Foundation
import Testing
import TroupeCore

@testable import TroupeTransport

/// The egress proxy that https webhook deliveries go through: the `CONNECT` head from bytes,
/// then a real proxy that tunnels only to the address an attempt pinned for that host and
/// port, to its own credentials.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct EgressProxyTests {
    @Test func connectHeadsAreParsedAndAnythingElseRefused() {
        let head = Array("CONNECT Hooks.Example.com:8443 HTTP/1.1\r\nHost: x\r\nproxy-authorization:  Basic abc \r\n\r\n".utf8)
        let parsed = ConnectRequest(parsing: head)
        #expect(parsed?.host == "Hooks.Example.com" && parsed?.port == 8443 && parsed?.authorization == "Basic abc")
        let v6 = ConnectRequest(parsing: Array("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n".utf8))
        #expect(v6?.host == "2001:db8::1" && v6?.port == 443 && v6?.authorization == "")
        for bad in ["GET / HTTP/1.1\r\n\r\n", "CONNECT host HTTP/1.1\r\n\r\n", "CONNECT host:0 HTTP/1.1\r\n\r\n",
                    "CONNECT host:65536 HTTP/1.1\r\n\r\n", "CONNECT host:+443 HTTP/1.1\r\n\r\n", "CONNECT :443 HTTP/1.1\r\n\r\n",
                    "CONNECT [::1:443 HTTP/1.1\r\n\r\n", "CONNECT user@host:443 HTTP/1.1\r\n\r\n", "CONNECT host:443 HTTP/2\r\n\r\n",
                    "CONNECT host:443 HTTP/1.1\r\nno colon here\r\n\r\n", "CONNECT host:99999999999999999999 HTTP/1.1\r\n\r\n", ""] {
            #expect(ConnectRequest(parsing: Array(bad.utf8)) == nil, "\(bad.debugDescription)")
        }
    }

    /// The credentials the proxy put in `https_proxy`, as a `Proxy-Authorization` value.
    private func credentials() throws -> String {
        let variable = try #require(ProcessInfo.processInfo.environment["https_proxy"])
        let userinfo = try #require(variable.split(separator: "//").last?.split(separator: "@").first)
        return "Basic " + EgressProxy.standardBase64(Array(userinfo.utf8))
    }

    private func connect(_ proxy: EgressProxy, _ target: String, authorization: String) async throws -> (RawConnection, Int?) {
        let connection = try RawConnection(port: proxy.port)
        connection.send("CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\nProxy-Authorization: \(authorization)\r\n\r\n")
        return (connection, await connection.readResponse(bodiless: true)?.status)
    }

    @Test func aTunnelGoesOnlyToThePinnedAddressForItsCredentials() async throws {
        let proxy = try #require(try? EgressProxy.shared.get(), "the egress proxy started")
        let upstream = try TestServer.start()
        let authorization = try credentials()
        let target = "rebind.invalid:\(upstream.port)"

        #expect(try await connect(proxy, target, authorization: authorization).1 == 403, "no pin, no tunnel")
        let pin = proxy.pin(host: "REBIND.invalid", port: upstream.port, address: .v4(127, 0, 0, 1), strict: false)
        #expect(try await connect(proxy, target, authorization: "Basic d3Jvbmc6d3Jvbmc=").1 == 407)
        #expect(try await connect(proxy, "rebind.invalid:\(upstream.port + 1)", authorization: authorization).1 == 403, "another port")

        let (tunnel, status) = try await connect(proxy, target, authorization: authorization)
        #expect(status == 200)
        tunnel.send("GET /hello HTTP/1.1\r\nHost: rebind.invalid\r\n\r\n")
        let answer = await tunnel.readResponse()
        #expect(answer?.status == 200 && answer?.body == Array(#"{"hello":"world"}"#.utf8), "the name resolves nowhere: the pin took it")

        let strict = proxy.pin(host: "rebind.invalid", port: upstream.port, address: .v4(127, 0, 0, 1), strict: true)
        #expect(try await connect(proxy, target, authorization: authorization).1 == 403, "a strict pin to loopback is refused again here")
        strict.release()
        pin.release()
        #expect(try await connect(proxy, target, authorization: authorization).1 == 403, "released")
        await upstream.stop()
    }

    @Test func aHeadThatNeverEndsIsCutAtItsBound() async throws {
        let proxy = try #require(try? EgressProxy.shared.get(), "the egress proxy started")
        let connection = try RawConnection(port: proxy.port)
        connection.send("CONNECT a:1 HTTP/1.1\r\n" + String(repeating: "X-Pad: \(String(repeating: "p", count: 100))\r\n", count: 90))
        #expect(await connection.isClosedByPeer())
    }
}
