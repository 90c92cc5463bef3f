import Foundation
import Glibc
import TroupeActors
import TroupeCore

/// `troupe-bench audit-verify`: `--entries` audit entries of one workspace, written through the
/// journal (chained and hashed as the server does, `--per-change` to a change, with
/// durability NORMAL to build the file quickly), then `troupe verify-audit --db` on the file as
/// a child process: its wall time and peak RSS, which show that it streams the chain.
struct AuditVerifyBenchmark {
    let server: String
    let entries: Int
    let perChange: Int

    init(arguments: Arguments) {
        server = arguments.string("server") ?? ".build/release/troupe"
        entries = arguments.int("entries", default: 1_000_000)
        perChange = max(1, arguments.int("per-change", default: 1_000))
    }

    func run() async throws {
        let directory = NSTemporaryDirectory() + "troupe-audit-bench-" + RandomID.make(prefix: "t")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/troupe.db"
        let built = ContinuousClock.now
        let runtime = try await TroupeRuntime.open(path: path, durability: .normal)
        let draft = AuditDraft(workspaceID: "ws_bench", actor: AuditActor(type: AuditActor.apiKey, id: "key_bench"), event: "run.created",
                               targetType: "run", targetID: "run_0123456789abcdefghij", note: nil, requestID: "req_0123456789abcdefghij",
                               ip: "127.0.0.1")
        var written = 0
        while written < entries {
            let count = min(perChange, entries - written)
            try await runtime.store.journal.commit(Change(.system) { transaction in
                for _ in 0..<count { transaction.audit(draft) }
            })
            written += count
        }
        await runtime.close()
        let buildSeconds = (ContinuousClock.now - built).seconds

        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["verify-audit", "--db", path, "--workspace", "ws_bench"]
        let output = Pipe()
        process.standardOutput = output
        let started = ContinuousClock.now
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let seconds = (ContinuousClock.now - started).seconds
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        let verdict = (try? JSON.parse(Array(text.utf8))) ?? .null
        print(jsonLine(.object(JSONObject([
            ("bench", "audit.verify"), ("entries", .int(Int64(entries))), ("build_seconds", .double((buildSeconds * 100).rounded() / 100)),
            ("verify_seconds", .double((seconds * 1000).rounded() / 1000)), ("entries_per_s", .double((Double(entries) / seconds).rounded())),
            ("peak_rss_mib", .double((Double(usage.ru_maxrss) / 1024 * 10).rounded() / 10)), ("exit_status", .int(Int64(process.terminationStatus))),
            ("result", verdict),
        ]))))
    }
}
