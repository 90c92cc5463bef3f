import Foundation
import Glibc
import Synchronization

/// Probes `GET /healthz` on a thread of its own every `interval`, with blocking sockets: what
/// it measures is the server's answer, not how busy the test process's task pool is with the
/// other suites running beside it.
final class HealthProbe: Sendable {
    private struct State {
        var latencies: [Duration] = []
        var failures = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let done = DispatchSemaphore(value: 0)

    /// Probes `port`; at `niceness` when given and the process may take it (per thread on Linux).
    init(port: Int, interval: Duration = .milliseconds(20), niceness: Int32? = nil) {
        let thread = Thread { [self] in
            if let niceness { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
            while !state.withLock(\.stopped) {
                let started = ContinuousClock.now
                let answered = Self.probe(port: port)
                let took = ContinuousClock.now - started
                state.withLock { answered ? $0.latencies.append(took) : ($0.failures += 1) }
                Thread.sleep(forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds))
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops probing; every probe's latency, and how many got no `200`.
    func stop() -> (latencies: [Duration], failures: Int) {
        state.withLock { $0.stopped = true }
        done.wait()
        return state.withLock { ($0.latencies, $0.failures) }
    }

    /// One probe on a new connection (as a load balancer's health check makes): whether it was
    /// answered `200` within two seconds.
    private static func probe(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return answer.starts(with: Array("HTTP/1.1 200".utf8))
    }
}
