import Foundation
import Testing
import TroupeCore
import TroupeTestSupport

@testable import TroupeLoad

/// Scenario files: the built-ins and the examples parse and agree; every wrong field is named
/// with what it should be; and `troupe-bench load` exits 2 saying so.
@Suite(.timeLimit(.minutes(5)))
struct ScenarioParserTests {
    private func problems(_ text: String) -> [String] {
        switch ScenarioParser.parse(Array(text.utf8)) {
        case .success: return []
        case .failure(let list): return list.problems.map(\.description)
        }
    }

    private static let valid = #"""
        {"name": "t", "workflows": [{"slug": "one", "steps": [{"id": "a", "kind": "task"}]}],
         "classes": [{"name": "c", "mix": [{"op": "get_run"}], "phases": [{"kind": "steady", "rate": 10, "seconds": 5}]}]}
        """#

    @Test func theBuiltInsParseAndMatchTheExampleFiles() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Benchmarks/scenarios").standardized
        for (name, text) in BuiltInScenarios.all {
            let builtIn = try ScenarioParser.parse(Array(text.utf8)).get()
            #expect(builtIn.name == name)
            let file = try #require(FileManager.default.contents(atPath: directory.appendingPathComponent("\(name).json").path), "\(name).json")
            #expect(try ScenarioParser.parse(Array(file)).get() == builtIn, "Benchmarks/scenarios/\(name).json differs from the built-in")
        }
        let noisy = try ScenarioParser.parse(Array((BuiltInScenarios.all["noisy-neighbour"] ?? "").utf8)).get()
        #expect(noisy.classes.map(\.workspaces) == [50, 1])
        #expect(noisy.seconds == 20)
        #expect(noisy.without(class: "noisy")?.classes.map(\.name) == ["quiet"])
        #expect(noisy.without(class: "nobody") == nil)
        let closed = try ScenarioParser.parse(Array((BuiltInScenarios.all["get-run-closed"] ?? "").utf8)).get()
        #expect(closed.mode == .closed(connections: 64))
    }

    @Test func aValidScenarioHasItsDefaults() throws {
        let scenario = try ScenarioParser.parse(Array(Self.valid.utf8)).get()
        #expect(scenario.mode == .open(.constant))
        let group = try #require(scenario.classes.first)
        #expect(group.workspaces == 1 && group.plan == "starter" && group.keys == 1 && group.workers == 0 && group.queues == ["default"])
        #expect(group.phases == [.steady(10, seconds: 5)])
    }

    @Test func everyWrongFieldIsNamedWithWhatItShouldBe() {
        let cases: [(String, String)] = [
            ("not json", "(file): is not JSON"),
            (#"[]"#, "(file): must be an object."),
            (#"{"classes": []}"#, "name: is required."),
            (#"{"name": "t", "classes": [], "color": 1}"#, "color: is not a field here"),
            (#"{"name": "t", "classes": []}"#, "classes: must be an array of 1 to 20 elements."),
            (#"{"name": "t", "mode": "sideways", "classes": [{"name": "c", "workers": 1}]}"#, "mode: must be one of open, closed; it is sideways."),
            (#"{"name": "t", "mode": "closed", "classes": [{"name": "c", "workers": 1}]}"#, "connections: is required"),
            (#"{"name": "t", "mode": "closed", "connections": 99999, "seconds": 5, "classes": [{"name": "c", "workers": 1}]}"#,
             "connections: must be an integer from 1 to 4096."),
            (#"{"name": "t", "mode": "closed", "connections": 4, "seconds": 5, "arrival": "poisson", "classes": [{"name": "c", "workers": 1}]}"#,
             "arrival: is for the open mode"),
            (#"{"name": "t", "seconds": 5, "classes": [{"name": "c", "workers": 1}]}"#, "seconds: is for the closed mode"),
            (#"{"name": "t", "mode": "closed", "connections": 4, "seconds": 1e9, "classes": [{"name": "c", "workers": 1}]}"#,
             "seconds: must be a number above 0, at most 3600.0."),
            (#"{"name": "t", "classes": [{"name": "c", "workspaces": 0, "workers": 1}]}"#, "classes[0].workspaces: must be an integer from 1 to 1000."),
            (#"{"name": "t", "classes": [{"name": "c", "plan": "platinum", "workers": 1}]}"#, "classes[0].plan: must be one of starter, growth, enterprise"),
            (#"{"name": "t", "classes": [{"name": "c"}]}"#, "classes[0].mix: is required"),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}]}]}"#, "classes[0].phases: is required"),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "fly"}], "phases": []}]}"#, "classes[0].mix[0].op: must be one of create_run, get_run, list_runs, approve, raw; it is fly."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "create_run", "workflow": "nope"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0].workflow: nope is not one of the scenario's workflows."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run", "weight": 0}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0].weight: must be an integer from 1 to 1000."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "list_runs", "limit": 500}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0].limit: must be an integer from 1 to 100."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "raw", "path": "v1/x"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0].path: must start with /."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "raw", "path": "/x", "method": "BREW"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0].method: must be one of GET, POST, PUT, PATCH, DELETE; it is BREW."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run", "queue": "x"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0].queue: is not a field here; the fields are op, weight."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "phases": [{"kind": "warp", "seconds": 1}]}]}"#,
             "classes[0].phases[0].kind: is required: one of ramp, steady, spike."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "phases": [{"kind": "steady", "rate": -3, "seconds": 1}]}]}"#,
             "classes[0].phases[0].rate: must be a number from 0 to 100000.0."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 0}]}]}"#,
             "classes[0].phases[0].seconds: must be a number above 0, at most 3600.0."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "phases": [{"kind": "ramp", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].phases[0].rate: is not a field here; the fields are kind, from, to, seconds."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 3000}, {"kind": "steady", "rate": 1, "seconds": 3000}]}]}"#,
             "classes[0].phases: must last at most 3600 seconds in all."),
            (#"{"name": "t", "classes": [{"name": "c", "workers": 1}, {"name": "c", "workers": 1}]}"#, "classes[1].name: c is named twice."),
            (#"{"name": "t", "workflows": [{"slug": "Bad Slug", "steps": [{}]}], "classes": [{"name": "c", "workers": 1}]}"#,
             "workflows[0].slug: must be 1 to 64 characters of a-z, 0-9 and -."),
            (#"{"name": "t", "classes": [{"name": "c", "workers": 9999}]}"#, "classes[0].workers: must be an integer from 0 to 256."),
            (#"{"name": "t", "classes": [{"name": "c", "workers": 1, "queues": [""]}]}"#, "classes[0].queues[0]: must be a queue name of 1 to 64 characters."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "approve"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix[0]: approve approves runs its workspace created: the mix needs a create_run of a workflow with an approval step."),
            (#"{"name": "t", "classes": [{"name": "c", "subscribers": 20000, "workers": 1}]}"#, "classes[0].subscribers: must be an integer from 0 to 10000."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].mix: must hold at least one request when the class has no workers or subscribers."),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "connections": 8}]}"#,
             "classes: an open scenario lasts as long as its classes' phases"),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "connections": 8, "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#,
             "classes[0].phases: is for a class without connections"),
            (#"{"name": "t", "mode": "closed", "connections": 4, "seconds": 5, "classes": [{"name": "c", "mix": [{"op": "get_run"}], "connections": 8}]}"#,
             "classes[0].connections: is for the open mode"),
            (#"{"name": "t", "classes": [{"name": "c", "mix": [{"op": "get_run"}], "connections": 0}, {"name": "d", "workers": 1}]}"#,
             "classes[0].connections: must be an integer from 1 to 4096."),
        ]
        for (text, expected) in cases {
            let found = problems(text)
            #expect(found.contains { $0.hasPrefix(expected) }, "\(text) → \(found)")
        }
        #expect(problems(Self.valid).isEmpty)
        #expect(problems(#"{"name": "t", "classes": [{"name": "c", "subscribers": 5}, {"name": "d", "mix": [{"op": "get_run"}], "phases": [{"kind": "steady", "rate": 1, "seconds": 1}]}]}"#).isEmpty,
                "a class of subscribers alone needs no mix")
    }

    /// The command line says every problem and exits 2, before it touches any server.
    @Test func troupeBenchLoadExits2OnABadScenarioOrAnUnsafeURL() async throws {
        let directory = NSTemporaryDirectory() + "troupe-load-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bad = directory + "/bad.json"
        try Data(#"{"name": "t", "classes": [{"name": "c", "workspaces": 0, "mix": [{"op": "fly"}], "phases": []}]}"#.utf8).write(to: URL(fileURLWithPath: bad))
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("troupe-bench").path
        for (arguments, expected) in [
            (["load", "--scenario", bad], ["classes[0].workspaces: must be an integer from 1 to 1000.", "classes[0].mix[0].op: must be one of"]),
            (["load", "--scenario", directory + "/missing.json"], ["is neither a built-in"]),
            (["load", "--scenario", "mixed", "--url", "http://203.0.113.7:8080"], ["is not loopback; pass --allow-remote"]),
            (["load", "--scenario", "noisy-neighbour", "--without", "loud"], ["--without loud: the scenario has no such class (quiet, noisy)"]),
            (["load"], ["--scenario is required"]),
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let text = await BlockingCall.run {
                let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                return text
            }
            #expect(process.terminationStatus == 2, "\(arguments)")
            for line in expected { #expect(text.contains(line), "\(arguments): \(text)") }
        }
    }

    /// Server-Sent Events split at blank lines, a partial one kept for later.
    @Test func eventStreamBlocksAreTakenWhole() {
        var pending = Array("id: 1\nevent: run.created\ndata: {\"a\":1}\n\n: ping\n\nid: 2\ndata: {".utf8)
        #expect(EventStreamSubscriber.takeEvent(&pending) == ["id: 1", "event: run.created", #"data: {"a":1}"#])
        #expect(EventStreamSubscriber.takeEvent(&pending) == [": ping"])
        #expect(EventStreamSubscriber.takeEvent(&pending) == nil)
        #expect(String(decoding: pending, as: UTF8.self) == "id: 2\ndata: {")
    }
}
