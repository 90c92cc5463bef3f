import TroupeCore
import Foundation

/// Starts a dedicated thread that owns one ``Database`` from open to close.
///
/// SQLite calls block (an fsync takes ~0.3 ms, a busy wait up to the timeout), so connections
/// live on their own threads and never on Swift's cooperative pool, which has one thread per
/// core. The connection is opened on the thread that uses it, so it never crosses threads.
enum ConnectionThread {
    /// Opens the connection on a new thread, runs `serve` with it there, then closes it.
    ///
    /// Returns once the connection is open (rethrowing what `open` threw), with a latch that
    /// opens when `serve` has returned and the connection is closed.
    static func start(
        name: String,
        open: @escaping @Sendable () throws -> Database,
        serve: @escaping @Sendable (Database) -> Void
    ) async throws -> Latch {
        let exited = Latch()
        try await withCheckedThrowingContinuation { (started: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                let db: Database
                do {
                    db = try open()
                } catch {
                    started.resume(throwing: error)
                    exited.open()
                    return
                }
                started.resume()
                serve(db)
                db.close()
                exited.open()
            }
            thread.name = name
            thread.start()
        }
        return exited
    }
}
