import CSystem
import Foundation
import Glibc
import Synchronization
import TroupeCore

/// Why a wait for readiness ended without it.
public enum SocketWaitError: Error, Sendable, Equatable {
    /// The deadline passed first.
    case timedOut
    /// The fd was deregistered (or the loop stopped) while waiting.
    case closed
    /// The server is draining: reads are refused from now on; writes go on.
    case draining
}

/// An epoll loop on a thread of its own that resumes tasks waiting for descriptors (sockets,
/// pipes, pidfds) to become ready.
///
/// `epoll_wait` never runs on Swift's cooperative pool (two threads here). Each fd is
/// registered once, edge-triggered; a per-fd "ready" flag remembers an edge that came while
/// nobody waited, so a wait costs no `epoll_ctl` and no edge is lost. Deadlines are checked by a
/// scan every `timerResolution` rather than a timer per wait: one request costs no timer at all.
public final class EventLoop: Sendable {
    /// Which readiness a wait is for.
    public enum Direction: Sendable { case read, write }

    private struct Waiter {
        /// Unsafe rather than checked: this is the per-request hot path, and every waiter is
        /// resumed exactly once — it is removed from the table under the lock before resuming.
        let continuation: UnsafeContinuation<Void, any Error>
        let deadline: ContinuousClock.Instant?
    }

    private struct Registration {
        var readReady = false
        var writeReady = false
        var reader: Waiter?
        var writer: Waiter?
        /// Sticky: every read wait from now on fails with it (set for drain).
        var readInterruption: SocketWaitError?
        /// Sticky: every wait from now on fails with it (set for a forced close).
        var interruption: SocketWaitError?
    }

    /// How often deadlines are checked: a wait times out at most this late.
    public let timerResolution: Duration
    private let epollFD: Int32
    let wakeFD: Int32
    let jobQueue = Mutex(JobQueue())
    private let registrations = Mutex<[Int32: Registration]>([:])
    private let running = Atomic<Bool>(true)
    private let exited = Latch()

    /// The loop every server and client uses unless given another.
    ///
    /// Created on first use. `epoll_create1` and `eventfd` fail only when the process has no
    /// file descriptor or memory left at that moment, before any request exists; there is no
    /// loop to serve with then, so that is the one place the transport traps.
    public static let shared: EventLoop = {
        do {
            return try EventLoop()
        } catch {
            preconditionFailure("cannot create the process's epoll instance: \(error)")
        }
    }()

    /// The loops servers spread their connections over unless given others: ``shared`` and
    /// one more per further core (at least one, at most 8), made on first use.
    public static var sharedGroup: [EventLoop] { sharedGroupMade.loops }

    /// Why further loops of ``sharedGroup`` could not be made (no descriptor or memory left
    /// then): the server serves on the loops it has, and `/metrics` and the start-up log say so.
    public static var sharedGroupFailures: [SystemCallError] { sharedGroupMade.failures }

    private static let sharedGroupMade: (loops: [EventLoop], failures: [SystemCallError]) = {
        let cores = max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var loops = [shared]
        var failures: [SystemCallError] = []
        for _ in 1..<cores {
            do throws(SystemCallError) {
                loops.append(try EventLoop())
            } catch {
                failures.append(error)
            }
        }
        return (loops, failures)
    }()

    public init(timerResolution: Duration = .milliseconds(50)) throws(SystemCallError) {
        self.timerResolution = timerResolution
        epollFD = try syscallOrThrow("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        do {
            wakeFD = try syscallOrThrow("eventfd") { eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK)) }
        } catch {
            close(epollFD)
            throw error
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        let thread = Thread { [self] in
            runLoop()
            exited.open()
        }
        thread.name = "troupe-epoll"
        thread.start()
    }

    /// Stops the loop thread, failing every wait with ``SocketWaitError/closed``.
    public func stop() async {
        running.store(false, ordering: .releasing)
        signalWake()
        await exited.wait()
        let waiters = registrations.withLock { table -> [Waiter] in
            defer { table.removeAll() }
            return table.values.flatMap { [$0.reader, $0.writer].compactMap { $0 } }
        }
        for waiter in waiters { waiter.continuation.resume(throwing: SocketWaitError.closed) }
        close(wakeFD)
        close(epollFD)
    }

    // MARK: Registration

    /// Starts watching `fd` (edge-triggered, read and write).
    public func register(_ fd: Int32) throws(SystemCallError) {
        registrations.withLock { $0[fd] = Registration() }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.fd = fd
        do {
            try syscallOrThrow("epoll_ctl") { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        } catch {
            _ = registrations.withLock { $0.removeValue(forKey: fd) }
            throw error
        }
    }

    /// Stops watching `fd` and fails its waiters with ``SocketWaitError/closed``. Call before
    /// closing the fd. (A stale event for a reused fd number only causes one spurious wakeup.)
    public func deregister(_ fd: Int32) {
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        let removed = registrations.withLock { $0.removeValue(forKey: fd) }
        for waiter in [removed?.reader, removed?.writer].compactMap({ $0 }) {
            waiter.continuation.resume(throwing: SocketWaitError.closed)
        }
    }

    /// Makes every read wait on `fd` fail with `error` from now on (and every write wait too if
    /// `includingWrites`), waking a task that waits now.
    public func interrupt(_ fd: Int32, with error: SocketWaitError, includingWrites: Bool = false) {
        let woken = registrations.withLock { table -> [Waiter] in
            guard var registration = table[fd] else { return [] }
            registration.readInterruption = error
            var woken = [registration.reader].compactMap { $0 }
            registration.reader = nil
            if includingWrites {
                registration.interruption = error
                woken += [registration.writer].compactMap { $0 }
                registration.writer = nil
            }
            table[fd] = registration
            return woken
        }
        for waiter in woken { waiter.continuation.resume(throwing: error) }
    }

    // MARK: Waiting

    /// Returns when `fd` may be read (or written) without blocking, or throws a
    /// ``SocketWaitError`` when the deadline passes or the wait is interrupted.
    public func wait(_ fd: Int32, for direction: Direction, deadline: ContinuousClock.Instant? = nil) async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
            let immediate = registrations.withLock { table -> Result<Void, SocketWaitError>? in
                guard let registration = table[fd] else { return .failure(.closed) }
                if let interruption = registration.interruption { return .failure(interruption) }
                switch direction {
                case .read:
                    if let interruption = registration.readInterruption { return .failure(interruption) }
                    if registration.readReady {
                        table[fd]?.readReady = false
                        return .success(())
                    }
                    table[fd]?.reader = Waiter(continuation: continuation, deadline: deadline)
                case .write:
                    if registration.writeReady {
                        table[fd]?.writeReady = false
                        return .success(())
                    }
                    table[fd]?.writer = Waiter(continuation: continuation, deadline: deadline)
                }
                return nil
            }
            if let immediate { continuation.resume(with: immediate.mapError { $0 as any Error }) }
        }
    }

    // MARK: The loop thread

    private func runLoop() {
        var events = [epoll_event](repeating: epoll_event(), count: 512)
        let timeoutMilliseconds = Int32(clamping: max(1, timerResolution.nanoseconds / 1_000_000))
        var nextScan = ContinuousClock.now + timerResolution
        var ready: [Waiter] = []
        var expired: [Waiter] = []
        while running.load(ordering: .acquiring) {
            let moreJobs = runQueuedJobs()
            let sleep = !moreJobs && prepareToSleep()
            let count = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), sleep ? timeoutMilliseconds : 0)
            }
            if sleep { markAwake() }
            if count < 0, errno != EINTR { break }
            let now = ContinuousClock.now
            let scan = now >= nextScan
            if scan { nextScan = now + timerResolution }
            registrations.withLock { table in
                for index in 0..<max(0, Int(count)) {
                    let fd = events[index].data.fd
                    if fd == wakeFD {
                        var drained: UInt64 = 0
                        _ = read(wakeFD, &drained, 8)
                        continue
                    }
                    let flags = events[index].events
                    // Mutated in place (no copy out and back): this runs for every event.
                    if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                        if let reader = table[fd]?.reader {
                            ready.append(reader)
                            table[fd]?.reader = nil
                        } else {
                            table[fd]?.readReady = true
                        }
                    }
                    if flags & (EPOLLOUT.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                        if let writer = table[fd]?.writer {
                            ready.append(writer)
                            table[fd]?.writer = nil
                        } else {
                            table[fd]?.writeReady = true
                        }
                    }
                }
                if scan { collectExpired(in: &table, now: now, into: &expired) }
            }
            for waiter in ready { waiter.continuation.resume() }
            for waiter in expired { waiter.continuation.resume(throwing: SocketWaitError.timedOut) }
            ready.removeAll(keepingCapacity: true)
            expired.removeAll(keepingCapacity: true)
        }
    }

    private func collectExpired(in table: inout [Int32: Registration], now: ContinuousClock.Instant, into expired: inout [Waiter]) {
        for (fd, registration) in table {
            var updated = registration
            if let reader = registration.reader, let deadline = reader.deadline, deadline <= now {
                expired.append(reader)
                updated.reader = nil
            }
            if let writer = registration.writer, let deadline = writer.deadline, deadline <= now {
                expired.append(writer)
                updated.writer = nil
            }
            if updated.reader == nil && registration.reader != nil || updated.writer == nil && registration.writer != nil {
                table[fd] = updated
            }
        }
    }
}
