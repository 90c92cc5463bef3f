import Synchronization
import TroupeCore
import TroupePersistence

/// The one durable clock (DESIGN.md): fires the `due_work` rows whose time has come, each
/// subject's earliest first (``DueWork/subject``: a run's rows in order, different runs side by
/// side), each through the handler registered for its kind.
///
/// A handler's change must remove its row in the transaction that carries out the work (a
/// wait's step succeeding deletes the wait's row), so a row fires at most once: a row
/// whose handler failed stays and is tried again after a back-off; a row already being fired
/// is not handed out again. After a restart, what fell due meanwhile fires at once. The clock
/// is the runtime's: tests drive it by hand and call ``fireDue()``.
public final class Scheduler: Service {
    public let name = "scheduler"
    /// Fires one row; throws to have it tried again later.
    public typealias Handler = @Sendable (DueWork) async throws -> Void

    private let store: SnapshotStore
    private let clock: any WallClock
    private let failures: BackgroundFailures
    private let state = Mutex(State())
    /// One pass at a time: no pass reads a row another is firing (and has perhaps already removed).
    private let passes = SerialGate()

    private struct State {
        var handlers: [String: Handler] = [:]
        /// Rows whose handler failed, not to be tried before their time.
        var retryAt: [String: (at: Timestamp, backoff: Backoff)] = [:]
    }

    /// Rows read at once, at most.
    static let batch = 1024
    /// Subjects whose rows are fired at the same time, at most (each subject's in order).
    static let concurrency = 1024
    /// The longest wait between two looks at the table (a row scheduled by another process, or
    /// a clock that jumped).
    static let longestSleep: Duration = .seconds(1)

    init(store: SnapshotStore, clock: any WallClock, failures: BackgroundFailures) {
        self.store = store
        self.clock = clock
        self.failures = failures
    }

    /// Who fires rows of `kind` (registered before the scheduler runs).
    public func register(_ kind: String, _ handler: @escaping Handler) {
        state.withLock { $0.handlers[kind] = handler }
    }

    /// Fires every row due now, each subject's earliest first (``concurrency`` subjects at
    /// once); how many rows it tried. One pass at a time: a second call waits for the first to end.
    @discardableResult
    public func fireDue() async throws -> Int {
        await passes.enter()
        defer { passes.leave() }
        var fired = 0
        while true {
            let now = clock.now
            let due = try await store.reader.read { db in try DueWork.due(on: db, at: now, limit: Self.batch) }
            let taken = state.withLock { state in
                if due.count < Self.batch {
                    // A failed row that is gone (its subject moved on) needs no back-off kept.
                    let present = Set(due.map { $0.kind + "/" + $0.key })
                    state.retryAt = state.retryAt.filter { $0.value.at > now || present.contains($0.key) }
                }
                return due.filter { work in state.retryAt[work.kind + "/" + work.key].map { $0.at <= now } ?? true }
            }
            // Each subject's rows in their order; up to `concurrency` subjects at once.
            var bySubject: [DueWork.Subject: [DueWork]] = [:]
            var subjects: [DueWork.Subject] = []
            for work in taken {
                if bySubject[work.subject] == nil { subjects.append(work.subject) }
                bySubject[work.subject, default: []].append(work)
            }
            await withTaskGroup(of: Void.self) { group in
                for (index, subject) in subjects.enumerated() {
                    if index >= Self.concurrency { await group.next() }
                    let rows = bySubject[subject] ?? []
                    group.addTask { for work in rows { await self.fire(work) } }
                }
            }
            fired += taken.count
            if due.count < Self.batch || taken.isEmpty { return fired }
        }
    }

    /// The rows waiting, by kind, and the earliest one's time (for `/metrics`).
    public func pending() async throws -> (byKind: [String: Int64], earliest: Timestamp?) {
        let rows = try await store.reader.read { db in
            try db.query("SELECT kind, count(*), min(due_at) FROM due_work GROUP BY kind") {
                ($0.string(at: 0) ?? "", $0.int64(at: 1), $0.int64(at: 2))
            }
        }
        let earliest = rows.map(\.2).min().map { Timestamp(microsecondsSinceEpoch: $0) }
        return (Dictionary(rows.map { ($0.0, $0.1) }, uniquingKeysWith: +), earliest)
    }

    private func fire(_ work: DueWork) async {
        let id = work.kind + "/" + work.key
        guard let handler = state.withLock({ $0.handlers[work.kind] }) else {
            store.setAside.record(kind: "due_work", id: id, reason: "no handler for its kind")
            state.withLock { $0.retryAt[id] = (clock.now + .seconds(3600), Backoff()) }
            return
        }
        do {
            try await handler(work)
            _ = state.withLock { $0.retryAt.removeValue(forKey: id) }
        } catch {
            failures.record(name, error)
            state.withLock { state in
                var backoff = state.retryAt[id]?.backoff ?? Backoff()
                state.retryAt[id] = (clock.now + backoff.failed(), backoff)
            }
        }
    }

    /// Fires what is due, then sleeps until the next row's time, a commit that scheduled work
    /// (``Journal/dueWork``), or ``longestSleep``.
    public func run() async throws {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(30))
        let bell = store.journal.dueWork
        while !Task.isCancelled {
            let next: Timestamp?
            do {
                try await fireDue()
                next = try await store.reader.read { db in try DueWork.earliest(on: db) }
                backoff.succeeded()
            } catch {
                failures.record(name, error)
                do { try await Task.sleep(for: backoff.failed()) } catch { return }
                continue
            }
            let clock = clock
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await bell.wait(atMost: Self.longestSleep) }
                if let next {
                    group.addTask {
                        do { try await clock.sleep(until: next) } catch {}  // cancelled: the bell came first
                    }
                }
                await group.next()
                group.cancelAll()  // the other wait ends at its cancellation
            }
        }
    }
}
