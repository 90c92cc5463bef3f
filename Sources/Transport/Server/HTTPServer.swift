import Glibc
import Synchronization
import TroupeCore
import TroupeSystem

/// An HTTP/1.1 server over the ``EventLoop``: binds at init, serves in ``run()``, drains in
/// ``shutdown(grace:)``.
///
/// ```swift
/// let server = try HTTPServer(configuration: .init(port: 0), responder: router)
/// let serving = server.start()        // server.port is the bound port
/// …
/// await server.shutdown()             // stop accepting, finish in-flight, close
/// await serving.value
/// ```
public final class HTTPServer: Sendable {
    /// Where to listen and the protocol limits (API.md's defaults).
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; ``HTTPServer/port`` reports it.
        public var port: Int
        public var backlog: Int32
        /// Open connections at most; beyond it a new connection is accepted and closed at once.
        /// Servers set it from the file-descriptor limit (``FileDescriptorLimit/connectionCap(reserving:)``).
        public var maxConnections: Int
        /// Bytes held for request bodies not yet whole, across all connections; a body that
        /// would pass it is answered 503 and its connection closed.
        public var maxBufferedBodyBytes = 256 * 1024 * 1024
        public var limits: HTTPRequestParser.Limits
        public var timeouts: HTTPTimeouts

        public init(host: String = "127.0.0.1", port: Int = 8080, backlog: Int32 = 4096, maxConnections: Int = 10_000) {
            self.host = host
            self.port = port
            self.backlog = backlog
            self.maxConnections = maxConnections
            limits = HTTPRequestParser.Limits()
            timeouts = HTTPTimeouts()
        }
    }

    /// Counters for metrics.
    public struct Statistics: Sendable, Equatable {
        public var openConnections = 0
        public var acceptedConnections = 0
        /// Connections closed at once because ``Configuration/maxConnections`` were open.
        public var refusedConnections = 0
        /// Connections closed at once because their event loop could not watch them.
        public var unwatchableConnections = 0
        /// Accepts that found no descriptor or memory left, each followed by a 10 ms back-off.
        public var acceptsOutOfDescriptors = 0

        public init() {}
    }

    private struct State {
        /// Each open connection and the loop it is registered with.
        var connections: [Int32: EventLoop] = [:]
        var statistics = Statistics()
        /// Where the next connection goes (round robin over ``loops``).
        var nextLoop = 0
        /// Cleared, under the lock, before the listener's fd is closed (see ``shutdown(grace:)``).
        var listenerOpen = true
    }

    public let configuration: Configuration
    /// The port the server is bound to.
    public let port: Int
    private let listener: Int32
    /// The listener's loop: the first of ``loops``.
    private let loop: EventLoop
    /// The loops connections are spread over, each connection's task preferring its loop's
    /// thread, so that the server uses more than one core.
    private let loops: [EventLoop]
    private let responder: any HTTPResponder
    private let bodyBuffers: BodyBufferBudget
    private let streams = OpenStreams()
    private let state = Mutex(State())
    private let draining = Atomic<Bool>(false)
    private let finished = Latch()

    /// Binds the listener. Connections are spread over `loops` (default: ``EventLoop/sharedGroup``,
    /// one loop per core); the listener is served by the first.
    public init(configuration: Configuration, responder: some HTTPResponder, loops: [EventLoop] = EventLoop.sharedGroup) throws {
        self.configuration = configuration
        self.responder = responder
        bodyBuffers = BodyBufferBudget(capacity: configuration.maxBufferedBodyBytes)
        self.loops = loops.isEmpty ? [EventLoop.shared] : loops
        loop = self.loops[0]
        (listener, port) = try Socket.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog,
                                             registeringWith: loop)
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Runs ``run()`` in a new task that starts on the event loop's thread, so that the server
    /// starts even while every thread of Swift's cooperative pool is busy.
    public func start() -> Task<Void, Never> {
        Task(executorPreference: loop) { [self] in await run() }
    }

    /// Accepts and serves connections until ``shutdown(grace:)``; returns when every connection
    /// has closed.
    public func run() async {
        await withTaskExecutorPreference(loop) { await acceptLoop() }
        finished.open()
    }

    /// Accepts on the first loop's thread; each connection is registered with the next loop in
    /// turn, and its task prefers that loop as its executor.
    private func acceptLoop() async {
        await withDiscardingTaskGroup { group in
            while let fd = await acceptNext() {
                let assigned = state.withLock { state -> EventLoop? in
                    state.statistics.acceptedConnections += 1
                    guard state.connections.count < configuration.maxConnections else {
                        state.statistics.refusedConnections += 1
                        return nil
                    }
                    let chosen = loops[state.nextLoop % loops.count]
                    state.nextLoop &+= 1
                    state.connections[fd] = chosen
                    state.statistics.openConnections = state.connections.count
                    return chosen
                }
                guard let connectionLoop = assigned else {
                    close(fd)
                    continue
                }
                do {
                    try connectionLoop.register(fd)
                } catch {
                    // The loop's epoll refused the fd (out of memory): the client is closed, and counted.
                    forget(fd)
                    state.withLock { $0.statistics.unwatchableConnections += 1 }
                    close(fd)
                    continue
                }
                group.addTask(executorPreference: connectionLoop) { [self] in
                    let connection = HTTPConnection(
                        socket: SocketWriter(fd: fd, loop: connectionLoop, writeTimeout: configuration.timeouts.write),
                        responder: responder, configuration: configuration, bodyBuffers: bodyBuffers, streams: streams,
                        isDraining: { [self] in draining.load(ordering: .relaxed) },
                        // Forgotten before it closes: a shutdown must never interrupt a reused fd number.
                        willClose: { [self] in forget(fd) })
                    await EventLoop.$current.withValue(connectionLoop) { await connection.run() }
                }
            }
            state.withLock { $0.listenerOpen = false }
            loop.deregister(listener)
            close(listener)
        }
    }

    /// The next accepted fd, or nil once the server stops accepting.
    private func acceptNext() async -> Int32? {
        while !draining.load(ordering: .relaxed) {
            do {
                switch try Socket.accept(listener) {
                case .value(let fd): return fd
                case .wouldBlock: try await loop.wait(listener, for: .read)
                }
            } catch let error as SystemCallError where error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOMEM {
                // Out of descriptors: counted, then back off instead of spinning; connections closing frees some.
                state.withLock { $0.statistics.acceptsOutOfDescriptors += 1 }
                do { try await Task.sleep(for: .milliseconds(10)) } catch { return nil }
            } catch let error as SystemCallError where error.errno == ECONNABORTED {
                continue
            } catch {
                return nil
            }
        }
        return nil
    }

    private func forget(_ fd: Int32) {
        state.withLock { state in
            state.connections.removeValue(forKey: fd)
            state.statistics.openConnections = state.connections.count
        }
    }

    /// Graceful drain: stop accepting; close idle connections; end streaming responses now; let
    /// requests in flight finish (their connections close after the response); after `grace`,
    /// close whatever is left.
    /// Returns when ``run()`` has finished.
    public func shutdown(grace: Duration = .seconds(10)) async {
        draining.store(true, ordering: .relaxed)
        // Only while the listener is open: once closed, its fd number may name another socket
        // of the process (a client's), which must not be interrupted.
        state.withLock { state in
            if state.listenerOpen { loop.interrupt(listener, with: .closed, includingWrites: true) }
        }
        // Interrupted under the lock that `forget` takes before a connection closes its fd, so
        // the fd numbers here still name this server's sockets.
        state.withLock { state in
            for (fd, connectionLoop) in state.connections { connectionLoop.interrupt(fd, with: .draining) }
        }
        streams.stopAll()
        let forced = Task { [self] in
            try await Task.sleep(for: grace)
            state.withLock { state in
                for (fd, connectionLoop) in state.connections { connectionLoop.interrupt(fd, with: .closed, includingWrites: true) }
            }
        }
        await finished.wait()
        forced.cancel()
    }
}
