import Foundation
import Testing
import TroupeActors
import TroupeCore
import TroupeTestSupport
import TroupeTransport

@testable import TroupeApp

/// `GET /console` (the web console): its files with their security headers and revalidation,
/// and, in a real browser, a person signing in, watching a run advance live, approving it, and
/// a viewer refused.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ConsoleTests {
    @Test func theConsoleIsServedWithStrictHeadersAndRevalidated() async throws {
        let server = try await TestServer.start()
        let root = try await server.send("GET", "/")
        #expect(root.status == 302)
        #expect(root.headers["Location"] == "/console")
        let page = try await server.send("GET", "/console")
        #expect(page.status == 200)
        #expect(page.headers["Content-Type"] == "text/html; charset=utf-8")
        let policy = page.headers["Content-Security-Policy"] ?? ""
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
            #expect(policy.contains(directive), "\(directive) in \(policy)")
        }
        #expect(page.headers["X-Content-Type-Options"] == "nosniff")
        #expect(page.headers["Set-Cookie"] == nil)
        let etag = try #require(page.headers["ETag"])
        let again = try await server.send("GET", "/console", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(try await server.send("GET", "/console", headers: ["If-None-Match": "\"stale\""]).status == 200)
        var weight = page.body.count
        for (name, file) in ConsoleFiles.byName.sorted(by: { $0.key < $1.key }) {
            let reply = try await server.send("GET", "/console/" + name)
            #expect(reply.status == 200, "\(name)")
            #expect(reply.headers["Content-Type"] == file.contentType)
            #expect(reply.headers["Content-Security-Policy"] == policy)
            #expect(reply.headers["Cache-Control"] == "no-cache")
            #expect(reply.body == file.bytes)
            weight += reply.body.count
            // Nothing from the API is ever parsed as HTML or code.
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
                #expect(!String(decoding: file.bytes, as: UTF8.self).contains(sink), "\(name) uses \(sink)")
            }
        }
        #expect(weight < 100_000, "the console's first load is \(weight) bytes")
        print("console: first load \(weight) bytes over \(ConsoleFiles.byName.count + 1) files")
        let missing = try await server.send("GET", "/console/secrets.js")
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("not_found"))
        await server.stop()
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("selenium") && Prerequisite.tool("chromedriver")
                                         && (Prerequisite.tool("chromium") || Prerequisite.tool("chromium-browser"))),
                   "python3 with selenium, chromium and chromedriver (CI installs them)"))
    func aPersonWatchesARunLiveApprovesItAndAViewerIsRefused() async throws {
        let server = try await TestServer.start { $0.plans[.starter] = PlanLimits() }
        let shots = FileManager.default.temporaryDirectory.appendingPathComponent("troupe-console-\(RandomID.make(prefix: "shots"))")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: shots) }
        let result = await runPython(ConsoleBrowserScript.text, arguments: ["http://127.0.0.1:\(server.server.port)", shots.path])
        await server.stop()
        let lines = result.output.split(separator: "\n").map(String.init)
        let line = try #require(lines.last { $0.hasPrefix("RESULT ") }, "\(result.output)")
        let seen = try JSON.parse(Array(line.dropFirst(7).utf8))
        #expect(result.status == 0, "\(result.output)")
        // Signed in: the token in sessionStorage, no cookie.
        #expect(seen["token_in_session_storage"] == true)
        #expect(seen["cookies"] == .int(0))
        // The run advanced as the worker completed its job, without a reload, then was approved.
        #expect(seen["status_before"] == "running")
        #expect(seen["build_step"] == "succeeded")
        #expect(seen["live_without_reload"] == true)
        #expect(seen["status_after"] == "succeeded")
        // Metadata holding markup is shown as text: no element made of it, no alert.
        #expect(seen["metadata_text"]?.stringValue?.contains("<img src=x onerror=alert(1)>") == true)
        #expect(seen["images_in_metadata"] == .int(0))
        #expect(seen["alerts"] == .array([]))
        // Sign out clears the token; a viewer sees no Approve, and a forged approve is refused.
        #expect(seen["token_after_sign_out"] == .null)
        #expect(seen["viewer_role"]?.stringValue?.hasSuffix("viewer") == true)
        #expect(seen["viewer_approve_buttons"] == .int(0))
        #expect(seen["forged_approve_status"] == .int(403))
        #expect(seen["second_status"] == "awaiting_approval")
        #expect(seen["viewer_settings_links"] == .int(0))
        #expect(seen["key_who"]?.stringValue?.hasPrefix("API key") == true)
        #expect(seen["key_approve_buttons"] == .int(0))
        #expect(seen["severe_console_errors"] == .array([]))
        // Workers, audit and settings: a dead job retried, the chain verified, a key shown once.
        #expect(seen["retried_job_status"] == "queued")
        #expect(seen["audit_valid"] == "true")
        #expect(seen["audit_events"]?.arrayValue?.contains("run.approved") == true)
        #expect(seen["raw_key_shown"] == true)
        #expect(seen["raw_key_works"] == true)
        #expect(seen["copy_buttons"] == .int(1))
        #expect(seen["plan"] == "starter")
        #expect(seen["raw_key_shown_again"] == false)
        for name in ["console-run-1280.png", "console-run-390.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: shots.appendingPathComponent(name).path)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name) is \(size) bytes")
        }
    }
}
