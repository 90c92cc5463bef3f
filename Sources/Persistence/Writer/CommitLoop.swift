import TroupeCore
/// What the writer thread does with one batch: begin, apply each change in its savepoint,
/// commit, then resume every caller. Lives on the writer thread with its connection.
struct CommitLoop {
    let db: Database
    let queue: BlockingQueue<PendingChange>
    let statistics: LockedBox<GroupCommitWriter.Statistics>

    func commit(_ batch: [PendingChange]) {
        let started = ContinuousClock.now
        do {
            try db.cachedStatement("BEGIN IMMEDIATE").step()
        } catch {
            // Nothing ran; every caller learns why (a lock held elsewhere past the busy timeout,
            // a closed or broken file).
            for change in batch { change.reject(error) }
            statistics.withLock { $0.failedChanges += batch.count }
            return
        }
        var outcomes: [PendingChange.Outcome] = []
        outcomes.reserveCapacity(batch.count)
        for (index, change) in batch.enumerated() {
            let outcome = change.apply(db)
            if case .failed(let resume) = outcome, !db.isInTransaction {
                // SQLite rolled back the whole transaction (SQLITE_FULL, IOERR, …): this change's
                // caller gets its error; the others lost nothing acknowledged and run again.
                resume()
                requeueAfterAbort(applied: zip(batch, outcomes), untried: batch[(index + 1)...])
                return
            }
            outcomes.append(outcome)
        }
        let commitError: (any Error)?
        do {
            try db.cachedStatement("COMMIT").step()
            commitError = nil
        } catch {
            db.rollback()
            commitError = error
        }
        finish(outcomes, commitError: commitError, latency: ContinuousClock.now - started)
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
