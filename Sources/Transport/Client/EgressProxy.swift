import Glibc
import Synchronization
import TroupeCore
import TroupeSystem

/// The way out for `https` webhook deliveries: an HTTP `CONNECT` proxy inside the process, on
/// 127.0.0.1, that libcurl (under `URLSession`) is sent through by `https_proxy`. It connects a
/// tunnel only to an address a delivery pinned for that host and port after checking it, so
/// the TLS client never resolves the name itself: a name whose answer changes between the
/// check and the connection (DNS rebinding) reaches only what was checked.
///
/// One per process (``shared``), made before anything reads the environment. It answers only
/// the credentials it put in `https_proxy` (407 otherwise), a host and port with no pin 403,
/// and a pinned address it cannot reach 502. Tunnels are bounded in number and idle time.
public final class EgressProxy: Sendable {
    /// The process's proxy, started on first use (``TroupeCommand`` uses it before the server
    /// starts any thread), or why it could not be.
    public static let shared: Result<EgressProxy, SystemCallError> = {
        do throws(SystemCallError) {
            return .success(try EgressProxy(loop: .shared))
        } catch {
            return .failure(error)
        }
    }()

    public let port: Int
    private let listener: Int32
    private let loop: EventLoop
    private let expectedAuthorization: String
    private let pins = Mutex(Pins())
    private let tunnels = Atomic<Int>(0)

    /// Tunnels open at once, at most.
    static let maxTunnels = 1_024
    /// A request head must arrive, and a pinned address answer, within this.
    static let setupTimeout: Duration = .seconds(10)
    /// A tunnel with no byte either way for this long is closed.
    static let idleTimeout: Duration = .seconds(60)

    private struct Pins {
        var nextID: UInt64 = 0
        var byTarget: [String: [(id: UInt64, address: AddressGuard.Address, strict: Bool)]] = [:]
    }

    private init(loop: EventLoop) throws(SystemCallError) {
        self.loop = loop
        (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0, backlog: 128, registeringWith: loop)
        var secret = [UInt8](repeating: 0, count: 24)
        for index in secret.indices { secret[index] = UInt8.random(in: 0...255) }
        let password = secret.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        expectedAuthorization = "Basic " + Self.standardBase64(Array("troupe:\(password)".utf8))
        // libcurl reads these at each transfer: https leads here, and only loopback is exempt
        // (an address literal or `localhost`, which libcurl never resolves through DNS, so it
        // cannot change between check and connection). Children started with this process's
        // environment inherit both: a client there (a test's Python) reaches loopback directly.
        setenv("https_proxy", "http://troupe:\(password)@127.0.0.1:\(port)", 1)
        setenv("no_proxy", "localhost,127.0.0.1,::1", 1)
        for name in ["HTTPS_PROXY", "NO_PROXY"] { unsetenv(name) }
        Task { await acceptLoop() }
    }

    // MARK: Pins

    /// An address a delivery may reach through the proxy while it holds the pin.
    public struct Pin: Sendable {
        let target: String
        let id: UInt64
        let proxy: EgressProxy

        /// The address may no longer be reached (tunnels already open stay).
        public func release() {
            proxy.pins.withLock { pins in
                pins.byTarget[target]?.removeAll { $0.id == id }
                if pins.byTarget[target]?.isEmpty == true { pins.byTarget[target] = nil }
            }
        }
    }

    /// Lets a tunnel to `host:port` reach `address`, which the caller resolved and checked;
    /// `strict` when its check refused private and special-purpose addresses.
    public func pin(host: String, port: Int, address: AddressGuard.Address, strict: Bool) -> Pin {
        let target = Self.target(host, port)
        let id = pins.withLock { pins in
            pins.nextID += 1
            pins.byTarget[target, default: []].append((pins.nextID, address, strict))
            return pins.nextID
        }
        return Pin(target: target, id: id, proxy: self)
    }

    /// Where a tunnel to `target` goes: a strict pin's address first (two servers in one
    /// process may pin one name differently; the stricter check wins), re-checked.
    private func pinnedAddress(_ target: String) -> AddressGuard.Address? {
        let candidates = pins.withLock { $0.byTarget[target] ?? [] }
        if let strict = candidates.first(where: { $0.strict }) { return AddressGuard.isBlocked(strict.address) ? nil : strict.address }
        return candidates.first?.address
    }

    static func target(_ host: String, _ port: Int) -> String {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return "\(bare.lowercased()):\(port)"
    }

    // MARK: Tunnels

    private func acceptLoop() async {
        while true {
            let accepted: SyscallResult<Int32>
            do {
                accepted = try Socket.accept(listener)
            } catch {
                // Out of descriptors or memory for a moment: the backlog waits.
                do { try await Task.sleep(for: .milliseconds(10)) } catch { return }
                continue
            }
            switch accepted {
            case .wouldBlock:
                do { try await loop.wait(listener, for: .read) } catch { return }
            case .value(let fd):
                // Past the bound, or unwatchable by the loop: closed at once (the delivery
                // behind it records `connect_failed`).
                guard tunnels.add(1, ordering: .relaxed).newValue <= Self.maxTunnels, watch(fd) else {
                    tunnels.subtract(1, ordering: .relaxed)
                    close(fd)
                    continue
                }
                Task {
                    await serve(fd)
                    loop.deregister(fd)
                    close(fd)
                    tunnels.subtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Registers an accepted socket with the loop; whether it could be.
    private func watch(_ fd: Int32) -> Bool {
        do {
            try loop.register(fd)
            return true
        } catch {
            return false
        }
    }

    /// Reads the `CONNECT`, opens the tunnel, and relays until either side ends.
    private func serve(_ client: Int32) async {
        let deadline = ContinuousClock.now + Self.setupTimeout
        guard let (head, rest) = await readHead(client, deadline: deadline) else { return }
        let request = ConnectRequest(parsing: head)
        let writer = SocketWriter(fd: client, loop: loop, writeTimeout: Self.setupTimeout)
        func answer(_ status: String) async {
            var bytes = Array("HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            try? await writer.writeAll(&bytes)
        }
        guard let request else { return await answer("400 Bad Request") }
        guard ConstantTime.equals(Array(request.authorization.utf8), Array(expectedAuthorization.utf8)) else {
            return await answer("407 Proxy Authentication Required")
        }
        guard let address = pinnedAddress(Self.target(request.host, request.port)) else { return await answer("403 Forbidden") }
        let upstream: Int32
        do {
            upstream = try await HTTPClient.connect(address.description, request.port, loop: loop, deadline: deadline)
        } catch {
            return await answer("502 Bad Gateway")
        }
        defer {
            loop.deregister(upstream)
            close(upstream)
        }
        var established = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8)
        var early = rest
        do {
            try await writer.writeAll(&established)
            try await SocketWriter(fd: upstream, loop: loop, writeTimeout: Self.idleTimeout).writeAll(&early)
        } catch {
            return
        }
        async let out: Void = relay(from: client, to: upstream)
        async let back: Void = relay(from: upstream, to: client)
        _ = await (out, back)
    }

    /// The request head (through its blank line) and any bytes after it, or nil when it does
    /// not come within `deadline` or passes 8 KiB.
    private func readHead(_ fd: Int32, deadline: ContinuousClock.Instant) async -> (head: [UInt8], rest: [UInt8])? {
        var bytes: [UInt8] = []
        let end: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        while bytes.count <= 8_192 {
            if let range = bytes.firstRange(of: end) { return (Array(bytes[..<range.upperBound]), Array(bytes[range.upperBound...])) }
            let outcome = withUnsafeTemporaryAllocation(byteCount: 4_096, alignment: 16) { buffer -> (SyscallResult<Int>?, [UInt8]) in
                guard let result = try? Socket.read(fd, into: buffer) else { return (nil, []) }
                if case .value(let count) = result { return (result, Array(buffer[0..<count])) }
                return (result, [])
            }
            switch outcome.0 {
            case .value(let count)? where count > 0: bytes += outcome.1
            case .wouldBlock?:
                do { try await loop.wait(fd, for: .read, deadline: deadline) } catch { return nil }
            default: return nil
            }
        }
        return nil
    }

    /// Copies `from` to `to` until `from` ends (then half-closes `to`), an error, or
    /// ``idleTimeout`` with nothing to read (then both are shut down).
    private func relay(from source: Int32, to destination: Int32) async {
        let writer = SocketWriter(fd: destination, loop: loop, writeTimeout: Self.idleTimeout)
        while true {
            let outcome = withUnsafeTemporaryAllocation(byteCount: 16_384, alignment: 16) { buffer -> (SyscallResult<Int>?, [UInt8]) in
                guard let result = try? Socket.read(source, into: buffer) else { return (nil, []) }
                if case .value(let count) = result { return (result, Array(buffer[0..<count])) }
                return (result, [])
            }
            switch outcome.0 {
            case .value(let count)? where count > 0:
                var bytes = outcome.1
                do { try await writer.writeAll(&bytes) } catch { return endBoth(source, destination) }
            case .wouldBlock?:
                do { try await loop.wait(source, for: .read, deadline: .now + Self.idleTimeout) } catch { return endBoth(source, destination) }
            case .value?:
                shutdown(destination, Int32(SHUT_WR))
                return
            case nil:
                return endBoth(source, destination)
            }
        }
    }

    private func endBoth(_ first: Int32, _ second: Int32) {
        shutdown(first, Int32(SHUT_RDWR))
        shutdown(second, Int32(SHUT_RDWR))
    }

    /// RFC 4648 §4 base64 (with `+`, `/` and padding), as `Basic` credentials are written.
    static func standardBase64(_ bytes: [UInt8]) -> String {
        var text = Base64URL.encode(bytes).map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 }
        while text.count % 4 != 0 { text.append("=") }
        return String(text)
    }
}
