import Foundation
import TroupePersistence

/// Writes rows through the group-commit writer and prints each id once its write is
/// acknowledged, so a test can `kill -9` the process at any moment and check that every
/// printed id is in the database.
struct CrashWriter {
    let path: String
    let writers: Int
    let seconds: Double

    init(arguments: Arguments) throws {
        guard let path = arguments.string("db") else { throw BenchError("crash-writer needs --db PATH") }
        self.path = path
        writers = max(1, arguments.int("writers", default: 8))
        seconds = arguments.double("seconds", default: 30)
    }

    static let migrations = Migrator([
        Migration("create acks", sql: "CREATE TABLE acks (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, body BLOB NOT NULL)")
    ])

    func run() async throws {
        let writer = try await GroupCommitWriter(path: path) { db in try Self.migrations.migrate(db) }
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let body = [UInt8](repeating: 0xAB, count: 256)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writerIndex in 0..<writers {
                group.addTask { [writers] in
                    // Writer w writes ids w+1, w+1+writers, w+1+2·writers, …: unique without sharing.
                    var nextID = Int64(writerIndex + 1)
                    while ContinuousClock.now < deadline {
                        let id = nextID
                        nextID += Int64(writers)
                        try await writer.submit { db in
                            try db.execute(
                                "INSERT INTO acks (id, writer, body) VALUES (?, ?, ?)",
                                [.integer(id), .integer(Int64(writerIndex)), .blob(body)])
                        }
                        // One write(2) per line: a line is either wholly in the output or absent.
                        let line = Array("\(id)\n".utf8)
                        _ = line.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
                    }
                }
            }
            try await group.waitForAll()
        }
        await writer.close()
    }
}

/// A usage or setup error of the bench, printed as is.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
