import TroupeCore
import TroupePersistence

/// A job's times on the durable clock (DESIGN.md): its lease's expiry while it is leased
/// (`job.lease`, key: the job), and the end of its back-off while it waits to be claimed again
/// (`job.available`): rows written with each write of the job, so that a lease cut by a crash
/// expires after the restart and a worker waiting on the queue is woken when the back-off
/// ends. ``JobQueue`` fires them.
enum JobTimers {
    static let leaseKind = "job.lease"
    static let availableKind = "job.available"

    /// Moves the job's rows to what its state calls for, in the change writing it; `inserting`:
    /// a new job, which has no rows yet.
    static func sync(_ job: JobRecord, inserting: Bool, on db: Database, transaction: JournalTransaction?) throws {
        let machine = job.machine
        func schedule(_ kind: String, at time: Timestamp) throws {
            let work = DueWork(kind: kind, key: job.id, workspaceID: job.workspaceID, dueAt: time)
            if let transaction { try transaction.schedule(work) } else { try work.insert(on: db) }
        }
        func unschedule(_ kind: String) throws {
            if let transaction { try transaction.unschedule(kind: kind, key: job.id) } else { try DueWork.delete(kind: kind, key: job.id, on: db) }
        }
        switch machine.status {
        case .leased:
            // A back-off row left behind fires once and finds nothing to wake.
            if let expiry = machine.leaseExpiresAt { try schedule(leaseKind, at: expiry) }
        case .queued:
            if !inserting { try unschedule(leaseKind) }
            if machine.availableAt > job.updatedAt { try schedule(availableKind, at: machine.availableAt) }
        case .succeeded, .dead, .cancelled:
            if !inserting { try unschedule(leaseKind) }
        }
    }

    /// The rows of the jobs leased or backing off in a database from before the durable clock
    /// took them (lease expiry was a scan each second).
    static let migration = Migration("jobs-3 lease and back-off rows", sql: """
        INSERT OR REPLACE INTO due_work (kind, key, workspace_id, due_at, payload)
            SELECT 'job.lease', id, workspace_id, lease_expires_at, x'' FROM jobs WHERE status = 'leased' AND lease_expires_at IS NOT NULL;
        INSERT OR REPLACE INTO due_work (kind, key, workspace_id, due_at, payload)
            SELECT 'job.available', id, workspace_id, available_at, x'' FROM jobs WHERE status IN ('queued', 'failed') AND available_at > updated_at;
        """)
}
