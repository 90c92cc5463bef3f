import Foundation
import TroupeCore
import TroupePersistence

/// `troupe-bench persistence`: acknowledged durable writes per second through the group-commit
/// writer, against raw SQLite inserting 100 rows per transaction with the same connection code.
struct PersistenceBenchmark {
    let seconds: Double
    let writerCounts: [Int]
    let directory: String

    init(arguments: Arguments) {
        seconds = arguments.double("seconds", default: 3)
        writerCounts = arguments.ints("writers", default: [1, 16, 256])
        directory = arguments.string("dir") ?? NSTemporaryDirectory() + "troupe-bench-\(getpid())"
    }

    static let migrations = Migrator([
        Migration("create events", sql: """
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                body BLOB NOT NULL
            );
            CREATE INDEX events_by_workspace ON events (workspace_id, created_at);
            """)
    ])

    static let insertSQL = "INSERT INTO events (workspace_id, created_at, body) VALUES (?, ?, ?)"
    static let body = [UInt8]((0..<500).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    static let workspaces = (0..<100).map { _ in RandomID.make(prefix: "ws") }

    func run() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        print("persistence: \(seconds) s per case, 500-byte rows, index on (workspace_id, created_at)")

        let rawBefore = try measureRawBatches(sync: .full)
        var cases: [GroupCommitResult] = []
        for durability in [Durability.full, .normal] {
            for writers in writerCounts {
                cases.append(try await measureGroupCommit(writers: writers, durability: durability))
            }
        }
        let rawAfter = try measureRawBatches(sync: .full)
        let raw = (rawBefore + rawAfter) / 2

        print("")
        print("raw SQLite, 100 rows/transaction, FULL: \(Int(rawBefore)) rows/s before, \(Int(rawAfter)) after; mean \(Int(raw))")
        print("writers  sync     ops/s  p50 ms  p99 ms  mean batch  vs raw")
        for result in cases {
            print(String(format: "%7d  %-6@ %7.0f  %6.2f  %6.2f  %10.1f  %6.2f",
                         result.writers, result.durability.rawValue as NSString, result.opsPerSecond,
                         result.p50, result.p99, result.meanBatch, result.opsPerSecond / raw))
        }
        print("")
        print(jsonLine([
            "bench": "persistence.raw_batch100", "sync": "full", "rows_per_s": .int(Int64(raw)),
            "before": .int(Int64(rawBefore)), "after": .int(Int64(rawAfter)),
        ]))
        for result in cases {
            print(jsonLine([
                "bench": "persistence.group_commit", "writers": .int(Int64(result.writers)),
                "sync": .string(result.durability.rawValue), "ops_per_s": .int(Int64(result.opsPerSecond)),
                "p50_ms": rounded(result.p50), "p99_ms": rounded(result.p99),
                "mean_batch": rounded(result.meanBatch), "vs_raw_batch100": rounded(result.opsPerSecond / raw),
            ]))
        }
    }

    struct GroupCommitResult {
        let writers: Int
        let durability: Durability
        let opsPerSecond: Double
        let p50: Double
        let p99: Double
        let meanBatch: Double
    }

    private func freshPath(_ name: String) -> String {
        let path = "\(directory)/\(name).db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        return path
    }

    /// `writers` tasks each submit one insert at a time, back to back, for the duration.
    private func measureGroupCommit(writers: Int, durability: Durability) async throws -> GroupCommitResult {
        let path = freshPath("group-\(writers)-\(durability.rawValue)")
        let writer = try await GroupCommitWriter(
            path: path, configuration: .init(durability: durability)
        ) { db in try Self.migrations.migrate(db) }
        let before = writer.stats
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for index in 0..<writers {
                group.addTask {
                    var own: [Duration] = []
                    var counter = Int64(index) << 32
                    while ContinuousClock.now < deadline {
                        counter += 1
                        let workspace = Self.workspaces[Int(counter % 100)]
                        let createdAt = counter
                        let began = ContinuousClock.now
                        try await writer.submit { db in
                            try db.execute(Self.insertSQL, [.text(workspace), .integer(createdAt), .blob(Self.body)])
                        }
                        own.append(ContinuousClock.now - began)
                    }
                    return own
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - start
        let after = writer.stats
        await writer.close()
        let sorted = latencies.sorted()
        let transactions = after.transactions - before.transactions
        return GroupCommitResult(
            writers: writers, durability: durability,
            opsPerSecond: Double(latencies.count) / elapsed.seconds,
            p50: percentile(sorted, 0.50).milliseconds, p99: percentile(sorted, 0.99).milliseconds,
            meanBatch: transactions == 0 ? 0 : Double(after.committedChanges - before.committedChanges) / Double(transactions))
    }

    /// Raw SQLite on one connection: BEGIN, 100 cached-statement inserts, COMMIT, repeated.
    private func measureRawBatches(sync durability: Durability) throws -> Double {
        let db = try Database(path: freshPath("raw-\(durability.rawValue)"), options: .init(durability: durability))
        defer { db.close() }
        try Self.migrations.migrate(db)
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        var rows: Int64 = 0
        while ContinuousClock.now < deadline {
            try db.write { db in
                for _ in 0..<100 {
                    rows += 1
                    try db.execute(Self.insertSQL, [.text(Self.workspaces[Int(rows % 100)]), .integer(rows), .blob(Self.body)])
                }
            }
        }
        return Double(rows) / (ContinuousClock.now - start).seconds
    }
}

func percentile(_ sorted: [Duration], _ fraction: Double) -> Duration {
    guard !sorted.isEmpty else { return .zero }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func rounded(_ value: Double) -> JSON { .double((value * 100).rounded() / 100) }

func jsonLine(_ object: JSON) -> String { object.text }

extension Duration {
    var seconds: Double { Double(nanoseconds) / 1e9 }
    var milliseconds: Double { Double(nanoseconds) / 1e6 }
}
