import TroupeCore
import TroupePersistence

/// Why a job change was refused: `notFound` (404) or `conflict` (409: a stale or expired
/// lease, a job in the wrong status).
public struct JobStoreError: Error, Sendable, Equatable {
    public enum Code: Sendable { case notFound, conflict }
    public let code: Code
    public let message: String
}

/// Jobs of every workspace, one row each. Every change is one writer transaction that loads the
/// job, lets ``JobMachine`` decide, and writes it back, so a lease goes to one worker at a time
/// and at most one completion per job is accepted. Every query is keyed by workspace.
public struct JobStore: Sendable {
    /// Jobs whose attempt failed were `failed` until API.md dropped that status: they are
    /// `queued` (with their back-off in `available_at`). Appended after ``RowidTables``.
    public static let requeueFailedMigration = Migration("jobs-2-failed-is-queued", sql: """
        UPDATE jobs SET status = 'queued' WHERE status = 'failed';
        """)

    public static let migrations = [
        Migration("jobs-1", sql: """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                queue TEXT NOT NULL,
                status TEXT NOT NULL,
                run_id TEXT,
                step_id TEXT,
                input BLOB NOT NULL,
                output BLOB,
                last_error BLOB,
                usage BLOB,
                attempts INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL,
                timeout_ms INTEGER NOT NULL,
                lease_token TEXT,
                worker_id TEXT,
                lease_expires_at INTEGER,
                available_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                run_notified INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID;
            CREATE INDEX jobs_claimable ON jobs (workspace_id, queue, created_at, id) WHERE status IN ('queued', 'failed');
            CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status = 'leased';
            CREATE INDEX jobs_by_workspace ON jobs (workspace_id, created_at, id);
            CREATE INDEX jobs_for_runs ON jobs (updated_at) WHERE run_id IS NOT NULL AND run_notified = 0
                AND status IN ('succeeded', 'dead');
            """),
    ]

    let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    private static let columns = """
        id, workspace_id, queue, status, run_id, step_id, input, output, last_error, usage, attempts, max_attempts, timeout_ms,
        lease_token, lease_expires_at, available_at, created_at, updated_at, worker_id
        """

    public func insert(_ job: JobRecord, origin: ChangeOrigin = .system) async throws {
        try await store.journal.commit(Change(origin) { transaction in
            try Self.write(transaction.db, job, inserting: true)
            Self.signalIfClaimable(job, at: job.createdAt, on: transaction)
        })
    }

    /// Wakes a waiting worker once committed, when `job` can be claimed at `now`.
    static func signalIfClaimable(_ job: JobRecord, at now: Timestamp, on transaction: JournalTransaction) {
        if job.machine.isClaimable(at: now) { transaction.jobQueued(workspaceID: job.workspaceID, queue: job.queue) }
    }

    /// Leases the oldest available job of `queues` to `workerID` under `token`, or nil when none
    /// is available.
    public func claim(
        workspaceID: String, queues: [String], workerID: String, token: String, lease: Duration, at now: Timestamp,
        origin: ChangeOrigin = .system
    ) async throws -> JobRecord? {
        try await store.journal.commit(Change(origin) { transaction in
            let db = transaction.db
            // One indexed lookup per queue, each already in (created_at, id) order; one query
            // over all the queues at once sorted every waiting job of them on each claim. The
            // status test repeats the partial index's predicate (which names the old `failed`)
            // so that SQLite uses it.
            var candidates: [JobRecord] = []
            for queue in queues {
                // An unreadable job at the head of a queue is set aside (leaving the claimable
                // index), and the next one is looked up: one damaged row never blocks a queue.
                while true {
                    let (jobs, unreadable) = try Self.rows(db, """
                        SELECT \(Self.columns) FROM jobs
                        WHERE workspace_id = ? AND queue = ? AND status IN ('queued', 'failed') AND available_at <= ?
                        ORDER BY created_at, id LIMIT 1
                        """, [.text(workspaceID), .text(queue), .integer(now.microsecondsSinceEpoch)])
                    try setAside(unreadable, on: db)
                    if unreadable.isEmpty {
                        candidates += jobs
                        break
                    }
                }
            }
            guard var job = candidates.min(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) else { return nil }
            try job.machine.claim(token: token, at: now, lease: lease)
            job.workerID = workerID
            job.updatedAt = now
            try Self.write(db, job, inserting: false, transaction: transaction)
            return job
        })
    }

    /// Applies `change` to job `id` under its lease rules and stores the result (with
    /// `job.dead` when it dies).
    public func update(
        workspaceID: String, id: String, at now: Timestamp, origin: ChangeOrigin = .system,
        _ change: @escaping @Sendable (inout JobRecord) throws(JobMachine.Refusal) -> Void
    ) async throws -> JobRecord {
        try await store.journal.commit(Change(origin) { [store] transaction in
            let db = transaction.db
            guard var job = try Self.job(db, workspaceID: workspaceID, id: id, setAside: store.setAside, marking: false) else {
                throw JobStoreError(code: .notFound, message: "Job \(id) was not found.")
            }
            let wasDead = job.machine.status == .dead
            do throws(JobMachine.Refusal) {
                try change(&job)
            } catch {
                throw JobStoreError(code: .conflict, message: error.message)
            }
            job.updatedAt = now
            try Self.write(db, job, inserting: false, transaction: transaction)
            if !wasDead { try Self.emitIfDead(job, on: transaction) }
            Self.signalIfClaimable(job, at: now, on: transaction)
            return job
        })
    }

    /// The write of a finished job, `updated` from `read`, for the transaction of its run's next
    /// step: the stored job must still be as `read` found it (its status, lease token and
    /// attempts), else ``JobFinishConflict`` and nothing of the transaction commits (a lease
    /// that expired, a second completion). The job is marked taken in by its run.
    public static func finishedChange(_ updated: JobRecord, read: JobRecord, setAside: SetAsideRecords) -> @Sendable (JournalTransaction) throws -> Void {
        { transaction in
            let db = transaction.db
            guard let stored = try job(db, workspaceID: read.workspaceID, id: read.id, setAside: setAside, marking: false),
                  stored.machine.status == read.machine.status, stored.machine.leaseToken == read.machine.leaseToken,
                  stored.machine.attempts == read.machine.attempts
            else { throw JobFinishConflict(id: read.id) }
            try write(db, updated, inserting: false, transaction: transaction)
            if read.machine.status != .dead { try emitIfDead(updated, on: transaction) }
            signalIfClaimable(updated, at: updated.updatedAt, on: transaction)
            try db.execute("UPDATE jobs SET run_notified = 1 WHERE id = ?", [.text(updated.id)])
        }
    }

    /// `job.dead` for a job that just died (a run's job is indexed with its run's events).
    private static func emitIfDead(_ job: JobRecord, on transaction: JournalTransaction) throws {
        guard job.machine.status == .dead else { return }
        transaction.renameAudit("job.dead_lettered")  // a failure that ends the job
        let runCreatedAt = try job.runID.flatMap { runID in
            try transaction.db.scalar("SELECT created_at FROM snapshots WHERE kind = 'run' AND id = ?", [.text(runID)])?.integerValue
        }.map(Timestamp.init(microsecondsSinceEpoch:))
        transaction.emit(EventDraft(.jobDead, workspaceID: job.workspaceID, runID: runCreatedAt == nil ? nil : job.runID, runCreatedAt: runCreatedAt, data: [
            "job_id": .string(job.id), "queue": .string(job.queue), "run_id": job.runID.map(JSON.string) ?? .null,
            "step_id": job.stepID.map(JSON.string) ?? .null, "attempts": .int(Int64(job.machine.attempts)),
            "last_error": job.machine.lastError ?? .null,
        ]))
    }

    /// The insert of a new job, to commit with its run's snapshot.
    public static func insertChange(_ job: JobRecord) -> @Sendable (Database) throws -> Void {
        { db in try write(db, job, inserting: true) }
    }

    /// Cancels a job that has not finished (its step was stopped), with its run's snapshot.
    /// A job that has finished already is left as it is.
    public static func cancelChange(
        workspaceID: String, id: String, at now: Timestamp, setAside: SetAsideRecords
    ) -> @Sendable (Database) throws -> Void {
        { db in
            guard var job = try Self.job(db, workspaceID: workspaceID, id: id, setAside: setAside, marking: true) else { return }
            do throws(JobMachine.Refusal) {
                try job.machine.cancel()
            } catch {
                return
            }
            job.updatedAt = now
            try write(db, job, inserting: false)
        }
    }

    /// Records that a finished job's run has taken its outcome in, with that run's snapshot.
    public static func runNotifiedChange(id: String) -> @Sendable (Database) throws -> Void {
        { db in try db.execute("UPDATE jobs SET run_notified = 1 WHERE id = ?", [.text(id)]) }
    }

    /// Finished jobs of runs whose run has not taken the outcome in (a crash came between the
    /// job's commit and the run's): given to their runs again at start.
    public func unnotifiedRunJobs(limit: Int) async throws -> [JobRecord] {
        let (jobs, unreadable) = try await store.reader.read { db in
            try Self.rows(db, """
                SELECT \(Self.columns) FROM jobs WHERE run_id IS NOT NULL AND run_notified = 0 AND status IN ('succeeded', 'dead')
                ORDER BY updated_at LIMIT ?
                """, [.integer(Int64(limit))])
        }
        if !unreadable.isEmpty { try await store.journal.commit(.system) { db in try self.setAside(unreadable, on: db) } }
        return jobs
    }

    /// Counts job `id`'s lease as a failed attempt if it is still leased and expired at `now`
    /// (its `job.lease` row fell due); the job changed, or nil (it finished or was renewed
    /// meanwhile: its row is moved to where its state has it). A job out of attempts dies
    /// (`job.dead`); one that goes back to its queue wakes a waiting worker once its back-off ends.
    public func expireLease(workspaceID: String, id: String, at now: Timestamp) async throws -> JobRecord? {
        try await store.journal.commit(Change(.system) { [store] transaction in
            guard var job = try Self.job(transaction.db, workspaceID: workspaceID, id: id, setAside: store.setAside, marking: true) else {
                try DueWork.delete(kind: JobTimers.leaseKind, key: id, on: transaction.db)
                return nil
            }
            guard job.machine.status == .leased, let expiry = job.machine.leaseExpiresAt, expiry <= now else {
                try JobTimers.sync(job, inserting: false, on: transaction.db, transaction: transaction)
                return nil
            }
            _ = job.machine.expireLease(at: now, jitter: Double.random(in: 0..<1))
            job.updatedAt = now
            try Self.write(transaction.db, job, inserting: false, transaction: transaction)
            try Self.emitIfDead(job, on: transaction)
            Self.signalIfClaimable(job, at: now, on: transaction)
            return job
        })
    }

    /// Job `id`'s back-off ended (its `job.available` row fell due): a worker waiting on its
    /// queue is woken, and the row goes.
    public func endBackoff(workspaceID: String, id: String, at now: Timestamp) async throws {
        try await store.journal.commit(Change(.system) { [store] transaction in
            try DueWork.delete(kind: JobTimers.availableKind, key: id, on: transaction.db)
            guard let job = try Self.job(transaction.db, workspaceID: workspaceID, id: id, setAside: store.setAside, marking: true) else { return }
            Self.signalIfClaimable(job, at: now, on: transaction)
        })
    }

    /// Deletes a dead job (from the DLQ).
    public func deleteDead(workspaceID: String, id: String, origin: ChangeOrigin = .system) async throws {
        try await store.journal.commit(origin) { db in
            guard let job = try Self.job(db, workspaceID: workspaceID, id: id, setAside: store.setAside, marking: false) else {
                throw JobStoreError(code: .notFound, message: "Job \(id) was not found.")
            }
            guard job.machine.status == .dead else {
                throw JobStoreError(code: .conflict, message: "Job \(id) is \(job.machine.status.rawValue); only dead jobs are in the DLQ.")
            }
            try db.execute("DELETE FROM jobs WHERE id = ?", [.text(id)])
        }
    }

    public func job(workspaceID: String, id: String) async throws -> JobRecord? {
        try await store.reader.readStatement { db in try Self.job(db, workspaceID: workspaceID, id: id, setAside: store.setAside, marking: false) }
    }

    /// A page of the workspace's jobs, newest first, optionally of one status and queue.
    public func jobs(workspaceID: String, status: JobMachine.Status?, queue: String?, after cursor: (createdAt: Int64, id: String)?,
                     limit: Int) async throws -> [JobRecord] {
        try await store.reader.read { db in
            var sql = "SELECT \(Self.columns) FROM jobs WHERE workspace_id = ?"
            var arguments: [SQLValue] = [.text(workspaceID)]
            if let status {
                sql += " AND status = ?"
                arguments.append(.text(status.rawValue))
            }
            if let queue {
                sql += " AND queue = ?"
                arguments.append(.text(queue))
            }
            if let cursor {
                sql += " AND (created_at, id) < (?, ?)"
                arguments += [.integer(cursor.createdAt), .text(cursor.id)]
            }
            let (jobs, unreadable) = try Self.rows(db, sql + " ORDER BY created_at DESC, id DESC LIMIT ?", arguments + [.integer(Int64(limit))])
            try setAside(unreadable, on: nil)
            return jobs
        }
    }

    /// Job `id` of the workspace; nil when absent or unreadable (then reported to `setAside`,
    /// and marked set aside when `marking`: only a change that commits after the look-up may
    /// mark, since one that answers 404 rolls its writes back).
    private static func job(_ db: Database, workspaceID: String, id: String, setAside: SetAsideRecords, marking: Bool) throws -> JobRecord? {
        let (jobs, unreadable) = try rows(db, "SELECT \(columns) FROM jobs WHERE workspace_id = ? AND id = ?", [.text(workspaceID), .text(id)])
        try report(unreadable, to: setAside, marking: marking ? db : nil)
        return jobs.first
    }

    /// The jobs a query selects, and the rows among them whose stored JSON does not parse
    /// (a damaged file): those are never a reason for the query to fail.
    private static func rows(_ db: Database, _ sql: String, _ values: [SQLValue]) throws -> (jobs: [JobRecord], unreadable: [UnreadableRow]) {
        var unreadable: [UnreadableRow] = []
        let jobs = try db.query(sql, values) { row -> JobRecord? in
            do throws(UnreadableRow) {
                return try record(row)
            } catch {
                unreadable.append(error)
                return nil
            }
        }
        return (jobs.compactMap { $0 }, unreadable)
    }

    /// Reports each unreadable row and, on the writer (`db` given), marks it set aside so that
    /// no query of work selects it again; its stored bytes stay as they are.
    private func setAside(_ unreadable: [UnreadableRow], on db: Database?) throws {
        try Self.report(unreadable, to: store.setAside, marking: db)
    }

    /// A row marked `set_aside` leaves every status-bound query of work (claims, lease expiry,
    /// hand-overs); lists and look-ups skip it as unreadable.
    private static func report(_ unreadable: [UnreadableRow], to setAside: SetAsideRecords, marking db: Database?) throws {
        for row in unreadable {
            setAside.record(kind: "job", id: row.id, reason: row.reason)
            if let db { try db.execute("UPDATE jobs SET status = 'set_aside' WHERE id = ?", [.text(row.id)]) }
        }
    }

    /// Inserts a new job, or writes what a change can touch of a stored one: an update rewrites
    /// neither the input nor the indexes of columns that did not change (a replace deleted and
    /// re-inserted the row, and reset `run_notified`).
    /// `transaction`, where the caller has it, wakes the durable clock for the job's rows (``JobTimers``).
    private static func write(_ db: Database, _ job: JobRecord, inserting: Bool, transaction: JournalTransaction? = nil) throws {
        try JobTimers.sync(job, inserting: inserting, on: db, transaction: transaction)
        func blob(_ json: JSON?) -> SQLValue { json.map { .blob($0.bytes) } ?? .null }
        func time(_ stamp: Timestamp?) -> SQLValue { stamp.map { .integer($0.microsecondsSinceEpoch) } ?? .null }
        let machine = job.machine
        let changing: [SQLValue] = [
            .text(machine.status.rawValue), blob(job.output), blob(machine.lastError), blob(job.usage), .integer(Int64(machine.attempts)),
            machine.leaseToken.map(SQLValue.text) ?? .null, time(machine.leaseExpiresAt), time(machine.availableAt), time(job.updatedAt),
            job.workerID.map(SQLValue.text) ?? .null,
        ]
        guard inserting else {
            try db.execute("""
                UPDATE jobs SET status = ?, output = ?, last_error = ?, usage = ?, attempts = ?, lease_token = ?, lease_expires_at = ?,
                    available_at = ?, updated_at = ?, worker_id = ? WHERE id = ?
                """, changing + [.text(job.id)])
            return
        }
        try db.execute("""
            INSERT INTO jobs (status, output, last_error, usage, attempts, lease_token, lease_expires_at, available_at, updated_at,
                worker_id, id, workspace_id, queue, run_id, step_id, input, max_attempts, timeout_ms, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, changing + [.text(job.id), .text(job.workspaceID), .text(job.queue), job.runID.map(SQLValue.text) ?? .null,
                             job.stepID.map(SQLValue.text) ?? .null, .blob(job.input.bytes), .integer(Int64(machine.maxAttempts)),
                             .integer(job.timeoutMilliseconds), time(job.createdAt)])
    }

    /// A stored status: `failed`, written before a failed attempt queued its job again, reads
    /// as `queued` (its `available_at` holds the back-off); anything unknown as `dead`.
    static func status(_ text: String?) -> JobMachine.Status {
        text == "failed" ? .queued : JobMachine.Status(rawValue: text ?? "") ?? .dead
    }

    /// A row whose stored JSON does not parse.
    struct UnreadableRow: Error {
        let id: String
        let reason: String
    }

    /// A row of `columns`; a stored blob that no longer parses is an ``UnreadableRow``.
    private static func record(_ row: Statement) throws(UnreadableRow) -> JobRecord {
        func json(_ index: Int32) throws(UnreadableRow) -> JSON? {
            guard let blob = row.blob(at: index) else { return nil }
            do {
                return try JSON.parse(blob)
            } catch {
                throw UnreadableRow(id: row.string(at: 0) ?? "", reason: "column \(index) is not JSON: \(error)")
            }
        }
        func time(_ index: Int32) -> Timestamp? { row.isNull(at: index) ? nil : Timestamp(microsecondsSinceEpoch: row.int64(at: index)) }
        let machine = JobMachine(
            status: Self.status(row.string(at: 3)), attempts: Int(row.int64(at: 10)),
            maxAttempts: Int(row.int64(at: 11)), leaseToken: row.string(at: 13), leaseExpiresAt: time(14),
            availableAt: time(15) ?? Timestamp(microsecondsSinceEpoch: 0), lastError: try json(8))
        return JobRecord(
            id: row.string(at: 0) ?? "", workspaceID: row.string(at: 1) ?? "", queue: row.string(at: 2) ?? "", runID: row.string(at: 4),
            stepID: row.string(at: 5), input: try json(6) ?? .object(JSONObject()), output: try json(7), usage: try json(9),
            machine: machine, timeoutMilliseconds: row.int64(at: 12), createdAt: time(16) ?? Timestamp(microsecondsSinceEpoch: 0),
            updatedAt: time(17) ?? Timestamp(microsecondsSinceEpoch: 0), workerID: row.string(at: 18))
    }
}
