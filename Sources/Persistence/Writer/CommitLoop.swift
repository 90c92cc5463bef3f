import TroupeCore

/// What the writer thread does with one batch: begin, apply each change, commit, then resume
/// every caller. Lives on the writer thread with its connection.
///
/// **Savepoints only when a change fails.** A change that throws must leave nothing behind,
/// which a savepoint around it guarantees — at a price: inside a savepoint SQLite copies every
/// page the change touches that an earlier change of the batch already changed (the same
/// table and index leaves, for appends) to its sub-journal first, which cost run creation a
/// fifth of its writer time. So a batch runs its changes bare. When one throws, the batch is
/// rolled back and run again, the changes before it bare (they succeeded on this state) and
/// it and those after it each in its savepoint; and the next
/// ``isolatedBatchesAfterFailure`` batches run every change in its savepoint, so that a flood
/// of refusals costs no replays.
/// Changes are run again anyway after SQLite aborts a transaction: a change is a pure
/// function of the database.
struct CommitLoop {
    let db: Database
    let queue: BlockingQueue<PendingChange>
    let statistics: LockedBox<GroupCommitWriter.Statistics>
    /// How many batches after one with a failure run every change in its savepoint.
    static let isolatedBatchesAfterFailure = 16
    /// How many of the next batches still do.
    private var isolatedBatchesLeft = 0

    init(db: Database, queue: BlockingQueue<PendingChange>, statistics: LockedBox<GroupCommitWriter.Statistics>) {
        self.db = db
        self.queue = queue
        self.statistics = statistics
    }

    mutating func commit(_ batch: [PendingChange]) {
        let started = ContinuousClock.now
        guard begin(batch) else { return }
        // Changes from this index on run in their savepoints.
        var isolatedFrom = isolatedBatchesLeft > 0 ? 0 : batch.count
        isolatedBatchesLeft = max(0, isolatedBatchesLeft - 1)
        var outcomes: [PendingChange.Outcome] = []
        outcomes.reserveCapacity(batch.count)
        var index = 0
        while index < batch.count {
            let isolated = index >= isolatedFrom
            let outcome = batch[index].apply(db, isolated)
            if case .failed(let resume) = outcome {
                if !db.isInTransaction || db.transactionIsDamaged {
                    // SQLite rolled back the whole transaction (SQLITE_FULL, IOERR, …), or the
                    // change's writes could not be undone: this change's caller gets its error;
                    // the others lost nothing acknowledged and run again.
                    rollBack()
                    resume()
                    requeueAfterAbort(applied: zip(batch, outcomes), untried: batch[(index + 1)...])
                    return
                }
                if !isolated && index == 0 {
                    // Alone in the transaction: rolling that back is its savepoint.
                    rollBack()
                    guard begin(batch[1...]) else {
                        resume()
                        statistics.withLock { $0.failedChanges += 1 }
                        return
                    }
                    outcomes.append(outcome)
                    index = 1
                    continue
                }
                if !isolated {
                    // Its partial writes are mixed with the batch's: start again, isolating it and the rest.
                    rollBack()
                    statistics.withLock { $0.replayedChanges += index }
                    guard begin(batch) else { return }
                    isolatedFrom = index
                    outcomes.removeAll(keepingCapacity: true)
                    index = 0
                    continue
                }
            }
            outcomes.append(outcome)
            index += 1
        }
        if outcomes.contains(where: { if case .failed = $0 { true } else { false } }) {
            isolatedBatchesLeft = Self.isolatedBatchesAfterFailure
        }
        let commitError: (any Error)?
        do {
            try db.cachedStatement("COMMIT").step()
            commitError = nil
        } catch {
            rollBack()
            commitError = error
        }
        finish(outcomes, commitError: commitError, latency: ContinuousClock.now - started)
    }

    /// Opens the batch's transaction; when it cannot be, every caller learns why (a lock held
    /// elsewhere past the busy timeout, a closed or broken file) and nothing ran.
    private func begin(_ batch: some Collection<PendingChange>) -> Bool {
        if db.isInTransaction { rollBack() }  // one a failed rollback left open is never built on
        do {
            try db.cachedStatement("BEGIN IMMEDIATE").step()
            return true
        } catch {
            for change in batch { change.reject(error) }
            statistics.withLock { $0.failedChanges += batch.count }
            return false
        }
    }

    /// Undoes the open transaction. A rollback that fails is counted and tried again; one that
    /// keeps failing leaves the transaction to the next ``begin(_:)``, which tries first, so
    /// that no batch is ever committed on top of an undone one.
    private func rollBack() {
        for _ in 0..<3 {
            do {
                try db.rollback()
                return
            } catch {
                statistics.withLock { $0.rollbackFailures += 1 }
            }
        }
    }

    /// Resumes every caller, then counts the transaction; `latency` runs from `BEGIN` to the end
    /// of `COMMIT` (with its fsync under FULL), before any caller is resumed.
    private func finish(_ outcomes: [PendingChange.Outcome], commitError: (any Error)?, latency: Duration) {
        var applied = 0
        for outcome in outcomes {
            switch outcome {
            case .applied(let resume):
                applied += 1
                resume(commitError)
            case .failed(let resume):
                resume()
            }
        }
        statistics.withLock { stats in
            if commitError == nil {
                stats.transactions += 1
                stats.committedChanges += applied
                stats.commitLatency.record(latency)
                stats.failedChanges += outcomes.count - applied
            } else {
                stats.failedChanges += outcomes.count
            }
        }
    }

    private func requeueAfterAbort(
        applied: Zip2Sequence<[PendingChange], [PendingChange.Outcome]>,
        untried: ArraySlice<PendingChange>
    ) {
        var retry: [PendingChange] = []
        var failed = 1
        for (change, outcome) in applied {
            switch outcome {
            case .applied: retry.append(change)
            case .failed(let resume):
                resume()
                failed += 1
            }
        }
        statistics.withLock {
            $0.failedChanges += failed
            $0.retriedChanges += retry.count
        }
        queue.pushFront(retry + untried)
    }
}
