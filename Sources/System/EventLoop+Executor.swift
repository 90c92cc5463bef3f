import Glibc
import Synchronization
import TroupeCore

/// The loop is also a `TaskExecutor`: a task that prefers it (the server's connection tasks) runs
/// on the loop's thread, between two `epoll_wait`s. Resuming a waiter then costs no thread wakeup
/// and no context switch: the job lands in this queue, on the same thread. Measured on healthz,
/// 64 connections, against resuming onto the global pool (see the README's Transport section).
///
/// Jobs of tasks at ``deferredPriority`` or below wait in a queue of their own and run after the
/// others: the server runs the work of a workspace with more than its share of requests in
/// flight at that priority, so that one workspace's flood queues behind everyone else's
/// requests instead of ahead of them. While other jobs wait, deferred ones still get one run
/// for every four of theirs (at least one a round), so that other work cannot starve them.
extension EventLoop: TaskExecutor {
    /// Jobs waiting to run on the loop thread, and whether it sleeps in `epoll_wait`.
    struct JobQueue {
        var jobs: [UnownedJob] = []
        var deferred: [UnownedJob] = []
        var deferredStart = 0
        var sleeping = false

        var isEmpty: Bool { jobs.isEmpty && deferredStart == deferred.count }

        /// Up to `limit` deferred jobs, oldest first.
        mutating func takeDeferred(_ limit: Int) -> ArraySlice<UnownedJob> {
            let end = deferredStart + min(limit, deferred.count - deferredStart)
            let taken = deferred[deferredStart..<end]
            deferredStart = end
            if deferredStart == deferred.count {
                deferred.removeAll(keepingCapacity: true)
                deferredStart = 0
            }
            return taken
        }
    }

    /// The highest task priority whose jobs the loop defers (``TaskPriority/deferred``).
    /// Such work must run in a task of its own, awaited through a continuation: a child task
    /// takes its parent's priority, and awaiting a task's value raises it to the waiter's.
    public static let deferredPriority = TaskPriority.deferred

    /// Deferred jobs run between two looks at the sockets.
    static let deferredJobsPerPoll = 16

    /// The loop the current task's connection runs on (set by the server for its connections),
    /// for work that must start another task on the same loop.
    @TaskLocal public static var current: EventLoop?

    public func enqueue(_ job: consuming ExecutorJob) {
        let deferred = TaskPriority(job.priority)?.isDeferred ?? false
        let job = UnownedJob(job)
        let wake = jobQueue.withLock { queue -> Bool in
            if deferred { queue.deferred.append(job) } else { queue.jobs.append(job) }
            defer { queue.sleeping = false }
            return queue.sleeping
        }
        if wake { signalWake() }
    }

    func signalWake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Runs the jobs queued so far, and those they queue, up to a bound so that sockets are
    /// polled again even under a flood of work: four rounds, and at most
    /// ``deferredJobsPerPoll`` deferred jobs, so that a request arriving beside a flood is seen
    /// within that many of the flood's jobs. Returns whether jobs remain.
    func runQueuedJobs() -> Bool {
        let executor = asUnownedTaskExecutor()
        var deferredBudget = Self.deferredJobsPerPoll
        for _ in 0..<4 {
            let jobs = jobQueue.withLock { queue -> [UnownedJob] in
                defer { queue.jobs.removeAll(keepingCapacity: true) }
                return queue.jobs
            }
            for job in jobs { job.runSynchronously(on: executor) }
            // Deferred jobs up to the budget when nothing else waits, else one for every four run.
            let deferred = jobQueue.withLock { queue in
                queue.takeDeferred(min(deferredBudget, queue.jobs.isEmpty ? deferredBudget : max(1, jobs.count / 4)))
            }
            if jobs.isEmpty && deferred.isEmpty { return false }
            for job in deferred { job.runSynchronously(on: executor) }
            deferredBudget -= deferred.count
            if deferredBudget <= 0 { break }
        }
        return jobQueue.withLock { !$0.isEmpty }
    }

    /// Marks the loop as about to sleep, unless work is queued; returns whether it may sleep.
    func prepareToSleep() -> Bool {
        jobQueue.withLock { queue in
            queue.sleeping = queue.isEmpty
            return queue.sleeping
        }
    }

    func markAwake() {
        jobQueue.withLock { $0.sleeping = false }
    }
}
