import Foundation
import Testing
import TroupeTestSupport
import TroupeCore

/// API.md "Audit log" over HTTP: what each change and refusal leaves on the record, who may
/// read it, and that an independent implementation (Python's hashlib and rfc8785) agrees
/// with every hash.
@Suite(.serialized, .timeLimit(.minutes(5))) struct AuditRoutesTests {
    private func entries(_ server: TestServer, _ token: String, _ query: String = "") async throws -> [JSON] {
        let reply = try await server.send("GET", "/v1/audit/logs?limit=200" + query, token: token)
        guard reply.status == 200 else { throw TestFailure("audit logs: \(reply.status) \(reply.text)") }
        return reply.json["data"]?.arrayValue ?? []
    }

    @Test func aRunsLifeIsOnTheRecordChainedAsAnIndependentImplementationComputesIt() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let created = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#)
        let runID = created.json["id"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/runs/\(runID)/cancel", token: ada.token).status == 200)
        let key = try await server.createKey(ada, scopes: ["audit:read"])

        let log = try await entries(server, ada.token)
        #expect(log.map { $0["event"]?.stringValue ?? "" } == ["api_key.created", "run.cancelled", "run.created", "workflow.created", "user.signed_up"])
        #expect(log.map { $0["seq"]?.intValue ?? 0 } == [5, 4, 3, 2, 1])
        #expect(log[2]["target_type"] == "run" && log[2]["target_id"] == .string(runID))
        #expect(log[0]["target_id"] == .string(key.id))
        #expect(log[4]["actor"] == ["type": "user", "id": .string(ada.userID), "email": .string(ada.email)])
        #expect(log[2]["actor"] == ["type": "user", "id": .string(ada.userID)])
        #expect(log[2]["request_id"] == created.headers["X-Request-Id"].map(JSON.string))
        #expect(log[2]["ip"] == "127.0.0.1")
        #expect(!String(decoding: JSON.array(log).bytes, as: UTF8.self).contains(key.raw), "no secret enters an entry")
        let verified = try await server.send("GET", "/v1/audit/verify", token: key.raw).json
        #expect(verified == ["valid": true, "checked_count": 5, "first_invalid_seq": .null, "anchor": ["seq": 5, "hash": log[0]["hash"] ?? .null]])
        await server.stop()
    }

    @Test(.enabled(if: Prerequisite.met(Prerequisite.python("rfc8785")), "python3 with rfc8785 (CI installs it)"))
    func anIndependentImplementationComputesEveryHash() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}").status == 201)
        let created = try await server.send("POST", "/v1/runs", token: ada.token, json: #"{"workflow":"ship-from-ticket"}"#)
        #expect(try await server.send("POST", "/v1/runs/\(created.json["id"]?.stringValue ?? "")/cancel", token: ada.token).status == 200)
        let log = try await entries(server, ada.token)
        #expect(log.count == 4)
        let checked = await runPython("""
            import sys, json, hashlib, rfc8785
            prev = "0" * 64
            for entry in sorted(json.loads(sys.stdin.read()), key=lambda e: e["seq"]):
                stored = entry.pop("hash")
                assert entry["prev_hash"] == prev, entry
                assert hashlib.sha256(prev.encode() + b"\\n" + rfc8785.dumps(entry)).hexdigest() == stored, entry
                prev = stored
            print("ok")
            """, input: JSON.array(log).bytes)
        #expect(checked.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(checked.output)")
        await server.stop()
    }

    @Test func aRefusalIsWrittenTheSameWayWhetherTheTargetIsAbsentOrAnotherWorkspaces() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let grace = try await server.signUp()
        #expect(try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: grace.token, json: "{}").status == 201)
        let theirs = try await server.send("POST", "/v1/runs", token: grace.token, json: #"{"workflow":"ship-from-ticket"}"#).json["id"]?.stringValue ?? ""
        let absent = "run_" + String(repeating: "0", count: 20)
        for target in [theirs, absent] {
            #expect(try await server.send("POST", "/v1/runs/\(target)/approve", token: ada.token, json: #"{"note":"mine now"}"#).status == 404)
        }
        // A viewer's attempt to change is refused with 403, and recorded too.
        let viewer = try await server.signUp()
        _ = try await server.join(viewer, to: ada, as: "viewer")
        let viewerToken = try await server.switchTo(ada, as: viewer)
        #expect(try await server.send("POST", "/v1/runs", token: viewerToken, json: #"{"workflow":"ship-from-ticket"}"#).status == 403)

        let log = try await entries(server, ada.token)
        let denied = log.filter { $0["event"] == "access.denied" }
        #expect(denied.count == 3)
        let byTarget = Dictionary(denied.compactMap { entry in entry["target_id"]?.stringValue.map { ($0, entry) } }, uniquingKeysWith: { a, _ in a })
        func shape(_ entry: JSON?) -> [JSON?] { ["event", "target_type", "note", "actor"].map { entry?[$0] } }
        #expect(shape(byTarget[theirs]) == shape(byTarget[absent]), "an entry never tells another workspace's run from an absent one")
        #expect(byTarget[absent]?["note"] == "POST /v1/runs/{id}/approve 404")
        #expect(denied.first?["note"] == "POST /v1/runs 403")
        #expect(denied.first?["actor"]?["id"] == .string(viewer.userID))
        // The other workspace's chain does not hear of it.
        #expect(try await entries(server, grace.token).allSatisfy { $0["event"] != "access.denied" })
        // Viewers may read the record.
        #expect(try await server.send("GET", "/v1/audit/verify", token: viewerToken).json["valid"] == true)
        await server.stop()
    }

    @Test func aWrongPasswordIsRecordedInEachOfTheUsersWorkspacesAndNowhereElse() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let grace = try await server.signUp()
        _ = try await server.join(ada, to: grace, as: "member")
        let bystander = try await server.signUp()
        #expect(try await server.send("POST", "/v1/auth/login", json: #"{"email":"\#(ada.email)","password":"not the password"}"#).status == 401)
        #expect(try await server.send("POST", "/v1/auth/login", json: #"{"email":"nobody@example.com","password":"not the password"}"#).status == 401)
        for owner in [ada, grace] {
            // Written after the 401 went out (its commit must not make a known email's refusal slower).
            var failed = try await entries(server, owner.token, "&event=auth.login_failed")
            for _ in 0..<500 where failed.isEmpty {
                try await Task.sleep(for: .milliseconds(10))
                failed = try await entries(server, owner.token, "&event=auth.login_failed")
            }
            #expect(failed.count == 1)
            #expect(failed.first?["actor"] == ["type": "user", "id": .string(ada.userID), "email": .string(ada.email)])
            #expect(!failed.description.contains("not the password"))
        }
        #expect(try await entries(server, bystander.token, "&event=auth.login_failed").isEmpty)
        // Ada's joining is on Grace's workspace's record, the workspace she joined.
        let joined = try await entries(server, grace.token, "&event=member.joined")
        #expect(joined.first?["target_id"] == .string(ada.userID) && joined.first?["actor"]?["id"] == .string(ada.userID))
        #expect(try await entries(server, ada.token, "&event=member.joined").isEmpty)
        await server.stop()
    }

    @Test func listsFilterAndPageNewestFirstAndNeedAuditRead() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        for index in 0..<5 {
            #expect(try await server.send("POST", "/v1/locks/acquire", token: ada.token, json: #"{"key":"k\#(index)","owner":"me","ttl_ms":60000}"#).status == 200)
        }
        // An Idempotency-Key replay is no new change.
        for _ in 0..<2 {
            #expect(try await server.send("POST", "/v1/workspaces", token: ada.token, json: #"{"name":"Second"}"#,
                                          headers: ["Idempotency-Key": "once"]).status == 201)
        }
        // A new workspace's chain starts with its creation (once).
        let created = try await server.send("GET", "/v1/workspaces", token: ada.token).json["data"]?.arrayValue?
            .first { $0["name"] == "Second" }?["id"]?.stringValue ?? ""
        let createdToken = try await server.send("POST", "/v1/workspaces/\(created)/switch", token: ada.token).json["token"]?.stringValue ?? ""
        let createdLog = try await entries(server, createdToken)
        #expect(createdLog.map { $0["event"]?.stringValue ?? "" } == ["workspace.created"])
        #expect(createdLog.first?["seq"] == 1 && createdLog.first?["target_id"] == .string(created))
        #expect(try await entries(server, ada.token, "&event=workspace.created").isEmpty)
        let locks = try await entries(server, ada.token, "&event=lock.acquired&actor=\(ada.userID)")
        #expect(locks.map { $0["target_id"]?.stringValue ?? "" } == ["k4", "k3", "k2", "k1", "k0"])
        let first = try await server.send("GET", "/v1/audit/logs?limit=2&event=lock.acquired", token: ada.token)
        #expect(first.json["has_more"] == true)
        let cursor = first.json["next_cursor"]?.stringValue ?? ""
        let second = try await server.send("GET", "/v1/audit/logs?limit=2&event=lock.acquired&cursor=\(cursor)", token: ada.token)
        #expect(second.json["data"]?.arrayValue?.map { $0["target_id"]?.stringValue ?? "" } == ["k2", "k1"])
        #expect(try await server.send("GET", "/v1/audit/logs?limit=2&cursor=\(cursor)", token: ada.token).status == 400, "a cursor is bound to its filter")
        #expect(try await server.send("GET", "/v1/audit/logs?since=yesterday", token: ada.token).status == 400)
        #expect(try await entries(server, ada.token, "&since=2999-01-01T00:00:00Z").isEmpty)
        // A plan change says so, in the same transaction as the change.
        #expect(try await server.send("PATCH", "/v1/workspaces/\(ada.workspaceID)", token: ada.token, json: #"{"plan":"growth"}"#).status == 200)
        let planned = try await entries(server, ada.token, "&event=workspace.plan_changed")
        #expect(planned.first?["note"] == "plan: growth" && planned.first?["target_id"] == .string(ada.workspaceID))
        let runsOnly = try await server.createKey(ada, scopes: ["runs:read"])
        #expect(try await server.send("GET", "/v1/audit/logs", token: runsOnly.raw).status == 403)
        #expect(try await server.send("GET", "/v1/audit/verify", token: runsOnly.raw).status == 403)
        await server.stop()
    }

    @Test func aJobsLifeIsRecordedAndAFailureThatDeadLettersItSaysSo() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let created = try await server.send("POST", "/v1/jobs", token: ada.token, json: #"{"queue":"q","input":{},"max_attempts":1}"#)
        let id = created.json["id"]?.stringValue ?? ""
        let claimed = try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["q"],"worker_id":"w","wait_ms":0}"#)
        let lease = claimed.json["lease_token"]?.stringValue ?? ""
        #expect(try await server.send("POST", "/v1/jobs/\(id)/fail", token: ada.token,
                                      json: #"{"lease_token":"\#(lease)","error":{"code":"x","message":"no"}}"#).json["status"] == "dead")
        #expect(try await server.send("POST", "/v1/dlq/\(id)/retry", token: ada.token).status == 200)
        let again = try await server.send("POST", "/v1/jobs/claim", token: ada.token, json: #"{"queues":["q"],"worker_id":"w","wait_ms":0}"#)
        #expect(try await server.send("POST", "/v1/jobs/\(id)/fail", token: ada.token,
                                      json: #"{"lease_token":"\#(again.json["lease_token"]?.stringValue ?? "")","error":{"code":"x","message":"no"},"retryable":false}"#).status == 200)
        #expect(try await server.send("DELETE", "/v1/dlq/\(id)", token: ada.token).status == 204)
        let log = try await entries(server, ada.token).filter { $0["target_type"] == "job" }
        #expect(log.map { $0["event"]?.stringValue ?? "" } == ["job.deleted", "job.dead_lettered", "job.retried", "job.dead_lettered", "job.created"])
        #expect(log.allSatisfy { $0["target_id"] == .string(id) })
        #expect(try await server.send("GET", "/v1/audit/verify", token: ada.token).json["valid"] == true)
        await server.stop()
    }
}
