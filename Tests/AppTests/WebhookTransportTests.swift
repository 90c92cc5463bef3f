import Foundation
import Testing
import TroupeCore
import TroupeTestSupport
import TroupeTransport

@testable import TroupeApp

/// Deliveries over https (URLSession, the system trust store) and to an IPv6 receiver.
///
/// The https test needs Python's `trustme` for a test CA, and root to add that CA to the
/// system trust store (`/usr/local/share/ca-certificates` and `update-ca-certificates`, which
/// is how libcurl, and so FoundationNetworking on Linux, is told to trust one); it shows as
/// skipped otherwise (never under CI), and takes the CA out again when it ends.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WebhookTransportTests {
    /// Two HTTPS receivers on 127.0.0.1: one with a certificate of the CA the test installs,
    /// one with a certificate of a CA nobody trusts. Each POST is appended to received.jsonl;
    /// `/redirect` answers 302.
    static let receivers = #"""
        import http.server, json, os, ssl, sys, threading, trustme
        folder = sys.argv[1]
        trusted, untrusted = trustme.CA(), trustme.CA()
        trusted.cert_pem.write_to_path(os.path.join(folder, "ca.crt"))
        lock = threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock, open(os.path.join(folder, "received.jsonl"), "a") as out:
                    out.write(json.dumps({"server": self.server.name, "path": self.path, "body": body.decode(),
                                          "signature": self.headers.get("Troupe-Signature", "")}) + "\n")
                if self.path == "/redirect":
                    self.send_response(302); self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0"); self.end_headers()
        ports = []
        for name, ca in (("trusted", trusted), ("untrusted", untrusted)):
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.name = name
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("localhost", "127.0.0.1", "rebind.invalid").configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            ports.append(str(server.server_address[1]))
        with open(os.path.join(folder, "ports.tmp"), "w") as out: out.write(" ".join(ports))
        os.rename(os.path.join(folder, "ports.tmp"), os.path.join(folder, "ports"))
        sys.stdin.read()
        """#

    private func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    private func lastAttempt(_ server: TestServer, _ token: String, _ hook: String) async throws -> JSON? {
        try await server.send("GET", "/v1/webhooks/\(hook)/deliveries", token: token).json["data"]?.arrayValue?.first?["attempts"]?.arrayValue?.last
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("trustme") && Prerequisite.isRoot
                                         && FileManager.default.isWritableFile(atPath: "/usr/local/share/ca-certificates")
                                         && Prerequisite.tool("/usr/sbin/update-ca-certificates")),
                   "python3 with trustme, root and update-ca-certificates (CI has them)"))
    func httpsDeliveriesTrustTheSystemStoreRecordTLSErrorsAndDoNotFollowRedirects() async throws {
        let anchors = "/usr/local/share/ca-certificates"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("troupe-https-\(RandomID.make(prefix: "t"))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", Self.receivers, folder]
        let input = Pipe()
        python.standardInput = input
        try python.run()
        let anchor = "\(anchors)/troupe-test-\(RandomID.make(prefix: "ca")).crt"
        defer {
            python.terminate()
            // On a thread of its own, not waited for: the rebuild takes seconds, which the
            // cooperative pool's threads are not to spend blocked.
            Thread {
                try? FileManager.default.removeItem(atPath: anchor)
                _ = Self.updateTrustStore(fresh: true)  // --fresh: the plain run leaves the removed CA's links behind
                try? FileManager.default.removeItem(atPath: folder)
            }.start()
        }
        try await waitFor("the receivers") { FileManager.default.fileExists(atPath: "\(folder)/ports") }
        let ports = try String(contentsOfFile: "\(folder)/ports", encoding: .utf8).split(separator: " ").map(String.init)
        try FileManager.default.copyItem(atPath: "\(folder)/ca.crt", toPath: anchor)
        #expect(await BlockingCall.run { Self.updateTrustStore() }, "update-ca-certificates ran")

        let server = try await TestServer.start { $0.webhookPrivateNetworks = true }
        let ada = try await server.signUp()
        var hooks: [String: String] = [:]
        for (name, url) in [("trusted", "https://localhost:\(ports[0])/hook"), ("untrusted", "https://localhost:\(ports[1])/hook"),
                            ("redirect", "https://127.0.0.1:\(ports[0])/redirect")] {
            let reply = try await server.send("POST", "/v1/webhooks", token: ada.token,
                                              json: #"{"url":"\#(url)","events":["run.created"],"secret":"a shared secret of ours"}"#)
            hooks[name] = reply.json["id"]?.stringValue ?? ""
        }
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let run = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).json["id"]?.stringValue ?? ""
        for hook in hooks.values { try await waitFor("a first attempt") { try await lastAttempt(server, ada.token, hook) != nil } }

        let trusted = try await lastAttempt(server, ada.token, hooks["trusted"] ?? "")
        #expect(trusted?["status_code"] == 204 && trusted?["error"] == .null, "\(String(describing: trusted))")
        let untrusted = try await lastAttempt(server, ada.token, hooks["untrusted"] ?? "")
        #expect(untrusted?["status_code"] == .null && untrusted?["error"] == "tls_error", "\(String(describing: untrusted))")
        let redirected = try await lastAttempt(server, ada.token, hooks["redirect"] ?? "")
        #expect(redirected?["status_code"] == 302 && redirected?["error"] == "bad_status", "\(String(describing: redirected))")

        let lines = try String(contentsOfFile: "\(folder)/received.jsonl", encoding: .utf8).split(separator: "\n").map { try JSON.parse(Array($0.utf8)) }
        #expect(!lines.contains { $0["server"] == "untrusted" }, "no request went over the untrusted connection")
        #expect(!lines.contains { $0["path"] == "/elsewhere" }, "the redirect was not followed")
        let delivered = try #require(lines.first { $0["path"] == "/hook" })
        let body = Array((delivered["body"]?.stringValue ?? "").utf8)
        #expect(try JSON.parse(body)["run_id"] == .string(run))
        let signature = delivered["signature"]?.stringValue ?? ""
        let stamp = signature.split(separator: ",").first.map { String($0.dropFirst(2)) } ?? ""
        let expected = Hex.encode(HMACSHA256(key: Array("a shared secret of ours".utf8)).authenticationCode(for: Array((stamp + ".").utf8) + body))
        #expect(signature == "t=\(stamp),v1=\(expected)")
        await server.stop()

        // A name that resolves nowhere (.invalid): TLS reaches the receiver only because the
        // sender connects to the address the attempt pinned, never resolving the name itself
        // (a rebinding name's second answer is never asked for). A strict pin to loopback reaches nothing.
        let sender = HTTPSWebhookSender()
        defer { sender.close() }
        let port = try #require(Int(ports[0]))
        let pinned = await sender.post("https://rebind.invalid:\(port)/rebind", host: "rebind.invalid", port: port, pinned: .v4(127, 0, 0, 1),
                                       strict: false, headers: [], body: Array("{}".utf8))
        #expect(pinned.statusCode == 204 && pinned.error == nil, "\(pinned)")
        let strict = await sender.post("https://rebind.invalid:\(port)/strict", host: "rebind.invalid", port: port, pinned: .v4(127, 0, 0, 1),
                                       strict: true, headers: [], body: Array("{}".utf8))
        #expect(strict.statusCode == nil && strict.error == "connect_failed", "\(strict)")
        let paths = try String(contentsOfFile: "\(folder)/received.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSON.parse(Array($0.utf8))["path"]?.stringValue }
        #expect(paths.contains("/rebind") && !paths.contains("/strict"))
    }

    /// Whether this machine has an IPv6 loopback to listen on.
    static let hasIPv6Loopback: Bool = {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
    }()

    @Test(.enabled(if: hasIPv6Loopback, "no IPv6 loopback on this machine"))
    func anIPv6ReceiverIsReachedAtItsBracketedAddress() async throws {
        let receiver = WebhookDeliveryTests.Receiver()
        let listener = try HTTPServer(configuration: .init(host: "::1", port: 0), responder: receiver)
        let serving = listener.start()
        let server = try await TestServer.start { $0.webhookPrivateNetworks = true }
        let ada = try await server.signUp()
        let hook = try await server.send("POST", "/v1/webhooks", token: ada.token,
                                         json: #"{"url":"http://[::1]:\#(listener.port)/v6","events":["run.created"]}"#).json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        #expect(try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#).status == 201)
        try await waitFor("the IPv6 delivery") { try await lastAttempt(server, ada.token, hook)?["status_code"] == 200 }
        #expect(receiver.received.first?.path == "/v6")
        #expect(receiver.received.first?.headers["Host"] == "[::1]:\(listener.port)")
        await server.stop()
        await listener.shutdown(grace: .seconds(1))
        await serving.value
    }

    /// Runs `update-ca-certificates` (`--fresh`: rebuilding every link); whether it exited 0.
    private static func updateTrustStore(fresh: Bool = false) -> Bool {
        let update = Process()
        update.executableURL = URL(fileURLWithPath: "/usr/sbin/update-ca-certificates")
        update.arguments = fresh ? ["--fresh"] : []
        update.standardOutput = FileHandle.nullDevice
        update.standardError = FileHandle.nullDevice
        do { try update.run() } catch { return false }
        update.waitUntilExit()
        return update.terminationStatus == 0
    }
}
