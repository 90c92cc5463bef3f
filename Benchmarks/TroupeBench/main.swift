// troupe-bench: Troupe's benchmarks and load tools, one subcommand each.
import Foundation

let usage = """
    usage: troupe-bench <command> [options]

    commands:
      persistence [--seconds S] [--dir PATH] [--writers 1,16,256]
          durable writes/s through the group-commit writer (FULL and NORMAL) against raw
          SQLite at 100 rows per transaction; prints a table, then one JSON line per case
      actors [--actors 100000]
          activation latency, memory per resident actor, lookup + call, rate-limit decisions,
          passivate-all and re-activate; one JSON line per case
      auth-read | get-run | run-create [--url http://127.0.0.1:8080] [--connections 64] [--seconds 10] [--repeats 3] [--login-flood N [--login-flood-retry after|at-once]]
          GET /v1/auth/me, GET /v1/runs/{id} or durable POST /v1/runs with a real API key of an
          enterprise workspace, driven by wrk; without --url the server runs in this process on a
          temporary database. Prints compare.sh options for the server (--seconds 0: only that),
          then one JSON line per run and the medians; --login-flood N adds N clients sending
          wrong-password logins (unknown emails, a full hash each) during every run, each client
          waiting out a 503's Retry-After (or not: at-once); run-create --webhooks N
          [--receiver-delay-ms 200] [--drain-delay-ms D] subscribes N webhooks to `*` at a receiver
          in this process, and with --drain-delay-ms times the outbox's drain after the runs
      workflow [--url …] [--runs 500] [--workers 16] [--claim-next]
          ship-from-ticket runs driven end to end over HTTP by built-in workers and an approver:
          completed runs/s, durable step transitions/s, claim-to-complete latency; --claim-next
          completes with claim_next (one request a step)
      events [--server .build/release/troupe] [--port 18431] [--subscribers 10000] [--workspaces 100] [--fanout 1000] [--runs 100]
          event streams against a `troupe serve` child process: its RSS per idle subscriber
          (--subscribers over --workspaces), then the delay from each event's commit to its
          arrival on --fanout streams of one workspace (p50, p99, max); 0 skips a part
      audit-verify [--server .build/release/troupe] [--entries 1000000] [--per-change 1000]
          an audit chain of --entries entries written through the journal, then
          `troupe verify-audit` on the file: its wall time and peak RSS
      sandboxes [--server .build/release/troupe] [--port 18432] [--creates 100] [--execs 1000] [--cap 4] [--seconds 10]
          sandboxes through the API of a `troupe serve` child process with exec on: create→ready
          and delete→terminated one at a time, exec of `true` round trips one at a time, then
          --cap sandboxes (the plan's cap) exec'ing `true` at once for --seconds; one JSON line each
      load --scenario NAME|FILE [--url http://127.0.0.1:8080 [--allow-remote]] [--without CLASS] [--json FILE] [--server-pid PID] [--max-in-flight 8192]
          a scenario (built-ins: mixed, noisy-neighbour, workers, streams, get-run-closed; or a JSON file,
          Benchmarks/scenarios/README.md) run open- or closed-loop against --url or a server in
          this process: a progress line a second on stderr, a Markdown summary on stdout, the
          JSON report in FILE; --without drops a class (the noisy neighbour's baseline)
      peer-server [--port 8080] [--host 127.0.0.1]
          the endpoints of ../shared/bench/peer-hummingbird over TroupeTransport, for compare.sh
      crash-writer --db PATH [--writers N] [--seconds S]
          writes rows and prints each acknowledged id on its own line until killed (or S
          seconds pass); the crash-safety test kill -9s it and checks every printed id
    """

let arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
do {
    switch arguments.command {
    case "persistence":
        try await PersistenceBenchmark(arguments: arguments).run()
    case "actors":
        try await ActorsBenchmark(arguments: arguments).run()
    case "auth-read", "get-run", "run-create":
        try await ServerBenchmark(command: arguments.command, arguments: arguments).run()
    case "workflow":
        try await WorkflowBenchmark(arguments: arguments).run()
    case "events":
        try await EventsBenchmark(arguments: arguments).run()
    case "audit-verify":
        try await AuditVerifyBenchmark(arguments: arguments).run()
    case "sandboxes":
        try await SandboxBenchmark(arguments: arguments).run()
    case "load":
        do {
            try await LoadCommand(arguments: arguments).run()
        } catch let error as LoadCommand.UsageError {
            FileHandle.standardError.write(Data("troupe-bench load: \(error)\n".utf8))
            exit(2)
        }
    case "peer-server":
        try await PeerServer(arguments: arguments).run()
    case "crash-writer":
        try await CrashWriter(arguments: arguments).run()
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("troupe-bench: \(error)\n".utf8))
    exit(1)
}
