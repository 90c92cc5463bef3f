import Testing
import TroupeCore

@Suite(.serialized, .timeLimit(.minutes(5))) struct WorkflowRoutesTests {
    private let twoSteps = #"[{"id":"build","kind":"task","queue":"ci"},{"id":"ok","kind":"approval","needs":["build"]}]"#

    @Test func createReadReplaceDelete() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let created = try await server.send("POST", "/v1/workflows", token: ada.token,
                                            json: #"{"slug":"release","name":"Release","steps":\#(twoSteps),"cost_cap_usd":2.5}"#)
        #expect(created.status == 201, "\(created.text)")
        let id = try #require(created.json["id"]?.stringValue)
        #expect(id.hasPrefix("wf_"))
        #expect(created.json["version"] == 1)
        #expect(created.json["cost_cap_usd"] == .double(2.5))
        #expect(created.json["steps"]?.arrayValue?.first?["max_attempts"] == 3, "defaults are filled in")
        #expect(created.json["steps"]?.arrayValue?.last?["approvers"] == ["owner", "admin"])

        #expect(try await server.send("GET", "/v1/workflows/\(id)", token: ada.token).json["slug"] == "release")
        #expect(try await server.send("GET", "/v1/workflows/release", token: ada.token).json["id"]?.stringValue == id)
        let list = try await server.send("GET", "/v1/workflows", token: ada.token)
        #expect(list.json["data"]?.arrayValue?.count == 1)

        let taken = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"release","name":"Again","steps":\#(twoSteps)}"#)
        #expect(taken.status == 409)

        let replaced = try await server.send("PUT", "/v1/workflows/release", token: ada.token,
                                             json: #"{"slug":"release","steps":[{"id":"only","kind":"wait","duration_ms":1000}],"cost_cap_usd":null}"#)
        #expect(replaced.status == 200, "\(replaced.text)")
        #expect(replaced.json["version"] == 2)
        #expect(replaced.json["name"] == "Release", "kept when not sent")
        #expect(replaced.json["cost_cap_usd"]?.isNull == true, "null clears the cap")
        let renamed = try await server.send("PUT", "/v1/workflows/\(id)", token: ada.token, json: #"{"slug":"other","steps":\#(twoSteps)}"#)
        #expect(renamed.status == 422)
        #expect(renamed.json["error"]?["field_errors"]?.arrayValue?.first?["field"] == "slug")

        #expect(try await server.send("DELETE", "/v1/workflows/release", token: ada.token).status == 204)
        #expect(try await server.send("GET", "/v1/workflows/\(id)", token: ada.token).status == 404)
        #expect(try await server.send("DELETE", "/v1/workflows/\(id)", token: ada.token).status == 404)
        #expect(try await server.send("POST", "/v1/workflows", token: ada.token,
                                      json: #"{"slug":"release","name":"Reborn","steps":\#(twoSteps)}"#).status == 201, "the slug is free again")
        await server.stop()
    }

    /// A workflow with a sandbox step runs commands: a key with workflows:write and runs:write
    /// but not sandboxes:write can neither define, replace nor run one (403 missing_scope), and
    /// a viewer cannot either; with sandboxes:write it can.
    @Test func aKeyWithoutSandboxesWriteCannotDefineReplaceOrRunASandboxWorkflow() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let box = #"{"slug":"box","name":"Box","steps":[{"id":"sh","kind":"sandbox","argv":["true"]}]}"#
        let plain = try await server.createKey(ada, scopes: ["workflows:write", "workflows:read", "runs:write"])
        let defined = try await server.send("POST", "/v1/workflows", token: plain.raw, json: box)
        #expect(defined.status == 403)
        #expect(defined.json["error"]?["required_scope"] == "sandboxes:write")
        #expect(try await server.send("POST", "/v1/workflows", token: ada.token, json: box).status == 201)
        let replaced = try await server.send("PUT", "/v1/workflows/box", token: plain.raw,
                                             json: #"{"steps":[{"id":"t","kind":"task"}]}"#)
        #expect(replaced.status == 403, "replacing a sandbox workflow needs it too")
        let run = try await server.send("POST", "/v1/runs", token: plain.raw, json: #"{"workflow":"box"}"#)
        #expect(run.status == 403)
        #expect(run.json["error"]?["required_scope"] == "sandboxes:write")
        let full = try await server.createKey(ada, scopes: ["workflows:write", "runs:write", "sandboxes:write"])
        #expect(try await server.send("POST", "/v1/runs", token: full.raw, json: #"{"workflow":"box"}"#).status == 201)
        let plainWorkflow = #"{"slug":"plain","name":"Plain","steps":[{"id":"t","kind":"task"}]}"#
        #expect(try await server.send("POST", "/v1/workflows", token: plain.raw, json: plainWorkflow).status == 201, "no sandbox, no extra scope")
        await server.stop()
    }

    @Test func badDefinitionsGetFieldErrorsWithPaths() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let cycle = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"""
            {"slug":"loop","name":"Loop","steps":[{"id":"a","kind":"task","needs":["b"]},{"id":"b","kind":"task","needs":["a"]}]}
            """#)
        #expect(cycle.status == 422)
        #expect(cycle.errorCode == "validation_error")
        let fieldError = cycle.json["error"]?["field_errors"]?.arrayValue?.first
        #expect(fieldError?["field"] == "steps[0].needs")
        #expect(fieldError?["message"]?.stringValue?.contains("a → b → a") == true)

        let many = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"""
            {"slug":"Bad Slug","name":"","steps":[{"id":"a","kind":"task"},{"id":"a","kind":"wait"},{"id":"c","kind":"task","needs":["zzz"]}]}
            """#)
        let fields = Set(many.json["error"]?["field_errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields == ["slug", "name", "steps[1].id", "steps[1].duration_ms", "steps[2].needs[0]"], "\(many.text)")

        let wrongType = try await server.send("POST", "/v1/workflows", token: ada.token,
                                              json: #"{"slug":"t","name":"T","steps":[{"id":"a","kind":"task","needs":"b"}]}"#)
        #expect(wrongType.status == 400)
        #expect(wrongType.json["error"]?["message"]?.stringValue?.hasPrefix("steps[0].needs") == true)
        #expect(try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"t","name":"T"}"#).status == 422)
        #expect(try await server.send("GET", "/v1/workflows", token: ada.token).json["data"]?.arrayValue?.isEmpty == true, "nothing stored")
        await server.stop()
    }

    @Test func validateTemplatesAndFromTemplate() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let valid = try await server.send("POST", "/v1/workflows/validate", token: ada.token, json: #"{"steps":\#(twoSteps)}"#)
        #expect(valid.status == 200)
        #expect(valid.json == ["valid": true])
        let invalid = try await server.send("POST", "/v1/workflows/validate", token: ada.token,
                                            json: #"{"slug":"NO","steps":[{"id":"a","kind":"task","needs":7}],"color":"red"}"#)
        #expect(invalid.json["valid"] == false)
        #expect(Set(invalid.json["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []) == ["slug", "steps[0].needs", "color"])
        #expect(try await server.send("GET", "/v1/workflows", token: ada.token).json["data"]?.arrayValue?.isEmpty == true)

        let templates = try await server.send("GET", "/v1/workflows/templates", token: ada.token)
        #expect(templates.json["data"]?.arrayValue?.first?["slug"] == "ship-from-ticket")
        #expect(templates.json["has_more"] == false)
        let fromTemplate = try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token, json: "{}")
        #expect(fromTemplate.status == 201)
        #expect(fromTemplate.json["slug"] == "ship-from-ticket")
        #expect(fromTemplate.json["steps"]?.arrayValue?.map { $0["id"]?.stringValue ?? "" } == ["orchestrator", "dev", "sre", "qa", "approval_gate"])
        let second = try await server.send("POST", "/v1/workflows/from-template/ship-from-ticket", token: ada.token,
                                           json: #"{"slug":"ship-2","name":"Second","cost_cap_usd":10}"#)
        #expect(second.json["name"] == "Second")
        #expect(try await server.send("POST", "/v1/workflows/from-template/nope", token: ada.token, json: "{}").status == 404)
        await server.stop()
    }

    @Test func scopesRolesAndOtherWorkspaces() async throws {
        let server = try await TestServer.start()
        let ada = try await server.signUp()
        let eve = try await server.signUp()
        let created = try await server.send("POST", "/v1/workflows", token: ada.token, json: #"{"slug":"mine","name":"Mine","steps":\#(twoSteps)}"#)
        let id = try #require(created.json["id"]?.stringValue)
        for (method, path, body) in [("GET", "/v1/workflows/\(id)", nil), ("GET", "/v1/workflows/mine", nil),
                                     ("PUT", "/v1/workflows/\(id)", #"{"steps":\#(twoSteps)}"#), ("DELETE", "/v1/workflows/\(id)", nil)]
            as [(String, String, String?)] {
            let reply = try await server.send(method, path, token: eve.token, json: body)
            #expect(reply.status == 404, "\(method) \(path)")
        }
        #expect(try await server.send("GET", "/v1/workflows", token: eve.token).json["data"]?.arrayValue?.isEmpty == true)

        let reader = try await server.createKey(ada, scopes: ["workflows:read"])
        #expect(try await server.send("GET", "/v1/workflows/\(id)", token: reader.raw).status == 200)
        let refused = try await server.send("POST", "/v1/workflows", token: reader.raw, json: #"{"slug":"k","name":"K","steps":\#(twoSteps)}"#)
        #expect(refused.errorCode == "missing_scope")
        #expect(refused.json["error"]?["required_scope"] == "workflows:write")
        let writer = try await server.createKey(ada, scopes: ["workflows:write"])
        #expect(try await server.send("POST", "/v1/workflows", token: writer.raw, json: #"{"slug":"k","name":"K","steps":\#(twoSteps)}"#).status == 201)
        await server.stop()
    }
}
