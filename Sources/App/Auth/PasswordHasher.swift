import CSystem
import Dispatch
import Foundation
import Glibc
import Synchronization
import TroupeCore

/// Hashes and checks passwords with PBKDF2-HMAC-SHA256 on a pool of its own: one thread per
/// core at most, behind a bounded queue. At 600,000 rounds a hash takes a good fraction of a
/// second, so a login flood must neither stall the event loops and the cooperative pool nor
/// queue without bound: past the queue's capacity waiting hashes, a login or signup is 503
/// `overloaded` at once.
///
/// By default the pool leaves one core without a hashing thread (one thread per core but the
/// first; one thread on one core), each thread pinned to its core and scheduled SCHED_IDLE, so
/// hashing takes only the CPU that serving leaves. Measured with `troupe-bench get-run
/// --login-flood 200`: a SCHED_IDLE thread free to move doubled get-run's p99; pinned, far less.
final class PasswordHasher: Sendable {
    let iterations: Int
    private let pool: HashingPool

    /// Starts the pool's threads: `threads` (default one per core), with `queueCapacity`
    /// hashes waiting at most.
    init(iterations: Int, threads: Int = max(1, HashingPool.cores - 1), queueCapacity: Int = 16) {
        self.iterations = iterations
        pool = HashingPool(threads: threads, queueCapacity: queueCapacity)
    }

    /// Throws the 503 a hash would meet now, before a login spends a database read on a request
    /// that cannot be hashed (a hint: the bound itself is enforced when the hash is queued).
    func checkCapacity() throws(APIError) {
        if pool.isFull { throw HashingPool.overloaded }
    }

    /// Ends the pool's threads once the hashes under way finish; hashes still waiting are
    /// refused as overloaded (the server is stopping).
    func close() { pool.stop() }

    /// A new salt and the password's hash; 503 when the hashing queue is full.
    func hash(_ password: String) async throws(APIError) -> (hash: [UInt8], salt: [UInt8]) {
        let salt = SecretGenerator.bytes(16)
        let hash = try await pool.derive(password, salt: salt, iterations: iterations)
        return (hash, salt)
    }

    /// Whether `password` matches (compared in constant time); 503 when the queue is full.
    func verify(_ password: String, hash: [UInt8], salt: [UInt8], iterations: Int) async throws(APIError) -> Bool {
        ConstantTime.equals(try await pool.derive(password, salt: salt, iterations: iterations), hash)
    }
}

/// Hashing threads and their bounded queue.
final class HashingPool: Sendable {
    private struct Job: Sendable {
        let password: [UInt8]
        let salt: [UInt8]
        let iterations: Int
        /// The hash, or nil when the pool stopped first.
        let done: @Sendable ([UInt8]?) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var stopped = false
    }

    let queueCapacity: Int
    private let threads: Int
    private let queue = Mutex(Queue())
    private let available = DispatchSemaphore(value: 0)

    /// The cores online.
    static var cores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    init(threads: Int, queueCapacity: Int) {
        self.queueCapacity = queueCapacity
        self.threads = threads
        let cores = Self.cores
        for index in 0..<threads {
            // The last cores first: the first is left to serving when there are fewer threads.
            let core = cores - 1 - index % cores
            let thread = Thread { [self] in work(pinnedTo: core) }
            thread.name = "troupe-hash-\(index)"
            thread.start()
        }
    }

    /// PBKDF2 of `password` on a pool thread; 503 `overloaded` at once when the queue is full.
    func derive(_ password: String, salt: [UInt8], iterations: Int) async throws(APIError) -> [UInt8] {
        let result: [UInt8]? = await withCheckedContinuation { continuation in
            let job = Job(password: Array(password.utf8), salt: salt, iterations: iterations) { continuation.resume(returning: $0) }
            let queued = queue.withLock { queue -> Bool in
                guard !queue.stopped, queue.jobs.count < queueCapacity else { return false }
                queue.jobs.append(job)
                return true
            }
            if queued { available.signal() } else { continuation.resume(returning: nil) }
        }
        guard let result else { throw Self.overloaded }
        return result
    }

    /// Whether a hash asked for now would be refused.
    var isFull: Bool { queue.withLock { $0.stopped || $0.jobs.count >= queueCapacity } }

    static var overloaded: APIError {
        var error = APIError(.overloaded, "Too many sign-ins are being checked; retry shortly.")
        error.retryAfterSeconds = 1
        return error
    }

    private func work(pinnedTo core: Int) {
        // Below the request threads: hashing gets only the CPU that serving leaves (SCHED_IDLE
        // yields at once to a woken normal thread), on a core of its own. A failure (a
        // container that forbids either) leaves a thread that is slower for others' tail
        // latency, still correct.
        _ = troupe_pin_current_thread(Int32(core))
        _ = troupe_schedule_current_thread_idle()
        while true {
            available.wait()
            let (job, stopped) = queue.withLock { queue in (queue.jobs.isEmpty ? nil : queue.jobs.removeFirst(), queue.stopped) }
            if let job {
                job.done(stopped ? nil : PBKDF2.deriveKey(password: job.password, salt: job.salt, iterations: job.iterations))
            } else if stopped {
                return
            }
        }
    }

    /// Refuses new hashes and ends every thread (after the hash it is on); waiting hashes are
    /// answered as overloaded.
    func stop() {
        let waiting = queue.withLock { queue in
            queue.stopped = true
            defer { queue.jobs = [] }
            return queue.jobs
        }
        for job in waiting { job.done(nil) }
        for _ in 0..<threads { available.signal() }
    }
}
