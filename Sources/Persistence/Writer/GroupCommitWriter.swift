import TroupeCore
/// The single writer of a database: callers submit changes and await them; one thread commits
/// everything queued so far in one transaction, so one fsync acknowledges a whole batch.
///
/// - No fixed delay: the thread takes whatever is queued the moment it is free, so batches grow
///   by themselves exactly as fast as load arrives, and a lone change commits at once.
/// - Each change runs inside its own `SAVEPOINT`. A change that throws is rolled back alone and
///   its error goes to its caller; the rest of the batch commits.
/// - If SQLite aborts the whole transaction (a full disk, an I/O error), the failing change gets
///   its error and the other changes of the batch, which were rolled back with it but never
///   acknowledged, are queued again at the front and retried in a fresh transaction.
/// - A change's caller is resumed only after its transaction committed: **a returned `submit` is
///   durable** (at the configured ``Durability``).
/// - The queue is bounded: past ``Configuration/queueCapacity`` pending changes, `submit` throws
///   ``SQLiteError/Kind/overloaded`` at once rather than queueing without bound.
///
/// A change is a closure over the connection and may run more than once (see above), so it must
/// only touch the database, never the outside world.
public final class GroupCommitWriter: Sendable {
    /// How the writer's connection and queue are set up.
    public struct Configuration: Sendable {
        public var durability: Durability
        public var busyTimeout: Duration
        /// Changes waiting for the writer at most; past it `submit` fails with `overloaded`.
        public var queueCapacity: Int
        /// Changes in one transaction at most, which bounds how long one commit holds the rest.
        public var maxBatchSize: Int
        /// WAL size (pages) past which the background checkpointer is woken (SQLite's default
        /// automatic checkpoint threshold).
        public var checkpointPages: Int
        /// WAL size (pages) past which the writer checkpoints inline after its commit, should the
        /// background checkpointer fall behind: the WAL never grows without bound.
        public var inlineCheckpointPages: Int

        public init(
            durability: Durability = .full, busyTimeout: Duration = .seconds(5),
            queueCapacity: Int = 16_384, maxBatchSize: Int = 1_024,
            checkpointPages: Int = 1_000, inlineCheckpointPages: Int = 16_000
        ) {
            self.durability = durability
            self.busyTimeout = busyTimeout
            self.queueCapacity = queueCapacity
            self.maxBatchSize = maxBatchSize
            self.checkpointPages = checkpointPages
            self.inlineCheckpointPages = inlineCheckpointPages
        }
    }

    /// Counters since the writer started.
    public struct Statistics: Sendable, Equatable {
        /// Transactions committed.
        public var transactions = 0
        /// Changes committed.
        public var committedChanges = 0
        /// Changes that failed (their own error, or their transaction's).
        public var failedChanges = 0
        /// Changes run again after SQLite aborted their transaction.
        public var retriedChanges = 0
        /// Changes run again because a later change of their batch failed outside a savepoint
        /// (``CommitLoop``).
        public var replayedChanges = 0
        /// Rollbacks that failed (each tried again; a batch never starts inside an undone one).
        public var rollbackFailures = 0
        /// Changes refused because the queue was full.
        public var overloadRejections = 0
        /// Background checkpoints run; those that gave way to another connection holding the
        /// checkpoint lock (retried on the next request); and those that failed with a real
        /// error (the WAL then keeps growing until one succeeds).
        public var checkpoints = 0
        public var checkpointsBusy = 0
        public var checkpointFailures = 0
        /// Pages appended to the WAL by commits (a page each time a commit changed it).
        public var walFrames = 0
        /// Time from `BEGIN` to the end of `COMMIT` of each committed transaction.
        public var commitLatency = LatencyBuckets()

        /// Mean changes per committed transaction.
        public var meanBatchSize: Double {
            transactions == 0 ? 0 : Double(committedChanges) / Double(transactions)
        }
    }

    public let path: String
    private let queue: BlockingQueue<PendingChange>
    private let statistics: LockedBox<Statistics>
    private let exited: Latch
    private let checkpointer: Checkpointer

    /// Opens (creating if needed) the database at `path` on the writer's own thread, runs
    /// `prepare` there (migrations), and starts serving.
    public init(
        path: String,
        configuration: Configuration = Configuration(),
        prepare: @escaping @Sendable (Database) throws -> Void = { _ in }
    ) async throws {
        self.path = path
        let queue = BlockingQueue<PendingChange>(capacity: configuration.queueCapacity)
        let statistics = LockedBox(Statistics())
        self.queue = queue
        self.statistics = statistics
        let options = DatabaseOptions(durability: configuration.durability, busyTimeout: configuration.busyTimeout, mmapBytes: 1 << 30)
        let checkpointRequests = BlockingQueue<Int>(capacity: 1)
        let exited = try await ConnectionThread.start(name: "troupe-writer") {
            let db = try Database(path: path, options: options)
            try prepare(db)
            var lastWALPages = 0
            try db.onWALCommit { walPages in
                // After a checkpoint SQLite starts the WAL again from its first frame.
                statistics.withLock { $0.walFrames += walPages > lastWALPages ? walPages - lastWALPages : walPages }
                lastWALPages = walPages
                if walPages >= configuration.checkpointPages { _ = checkpointRequests.push(walPages) }
                return walPages >= configuration.inlineCheckpointPages
            }
            return db
        } serve: { db in
            var loop = CommitLoop(db: db, queue: queue, statistics: statistics)
            while let batch = queue.takeBatch(max: configuration.maxBatchSize) {
                loop.commit(batch)
            }
        }
        do {
            checkpointer = try await Checkpointer(
                path: path, durability: configuration.durability, requests: checkpointRequests,
                statistics: statistics)
        } catch {
            queue.close()
            await exited.wait()
            throw error
        }
        self.exited = exited
    }

    deinit { queue.close() }

    /// Runs `change` in the next transaction and returns its result once that has committed.
    /// `afterCommit`, when given, runs on the writer's thread right after the commit and before
    /// the caller resumes, in commit order: what it publishes (events) is seen in that order.
    ///
    /// Throws what `change` threw (its writes rolled back, ``CommitLoop``), the commit's ``SQLiteError``,
    /// `overloaded` when the queue is full, or `misuse` after ``close()``.
    public func submit<T: Sendable>(
        _ change: @escaping @Sendable (Database) throws -> T, afterCommit: (@Sendable (T) -> Void)? = nil
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pending = PendingChange { db, isolated in
                do {
                    let value = try isolated ? db.withSavepoint { db in try change(db) } : change(db)
                    return .applied { commitError in
                        if let commitError {
                            continuation.resume(throwing: commitError)
                        } else {
                            afterCommit?(value)
                            continuation.resume(returning: value)
                        }
                    }
                } catch {
                    return .failed { continuation.resume(throwing: error) }
                }
            } reject: { error in
                continuation.resume(throwing: error)
            }
            switch queue.push(pending, deferred: Task.currentPriority.isDeferred) {
            case .accepted:
                break
            case .full:
                statistics.withLock { $0.overloadRejections += 1 }
                continuation.resume(throwing: SQLiteError(
                    kind: .overloaded, code: 0,
                    message: "the database writer's queue is full (\(queue.capacity) changes waiting)"))
            case .closed:
                continuation.resume(throwing: SQLiteError.closed())
            }
        }
    }

    /// Refuses new changes, commits everything already queued, closes the connection, and
    /// returns when all of that is done.
    public func close() async {
        queue.close()
        await exited.wait()
        await checkpointer.close()
    }

    public var stats: Statistics { statistics.value }

    /// Changes waiting for the writer right now.
    public var queueDepth: Int { queue.count }
}

/// A submitted change, type-erased: applying it runs the caller's closure (in a savepoint when
/// asked to) and says how to resume the caller once the transaction's fate is known.
struct PendingChange: Sendable {
    enum Outcome {
        /// Applied; call with the commit's error (nil when it committed).
        case applied(@Sendable ((any Error)?) -> Void)
        /// The change threw (and, in a savepoint, was rolled back); resumes its caller with that error.
        case failed(@Sendable () -> Void)
    }

    /// Runs the change in the open transaction, in a savepoint of its own when the flag is set.
    let apply: @Sendable (Database, _ isolated: Bool) -> Outcome
    /// Resumes the caller with an error without running the change (the batch never began).
    let reject: @Sendable (any Error) -> Void
}
